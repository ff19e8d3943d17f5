//! Online courses (LZ-1..LZ-9, AT-1, AT-12): a course is sold through a
//! product of kind `course`; it has modules and lessons with text, an
//! assignment and a quiz; lessons open by drip rules; curators accept or
//! return assignments (LZ 3.5); a student who passes every required lesson
//! gets a certificate of completion (LZ 9.1-9.5); each lesson has a
//! discussion under the school's rules (LZ 6.3-6.5).
//!
//! This crate owns the tables of `0007_learning.sql`. It never decides who
//! paid: paid access is an active entitlement of the money capability,
//! which it reads; refunds and ends of periods therefore end access by
//! themselves. It knows nothing of HTTP; texts are locale keys.

pub mod access;
pub mod analytics;
pub mod assignments;
pub mod certificates;
pub mod courses;
pub mod discussion;
pub mod jobs;
pub mod markup;
pub mod media;
pub mod progress;
pub mod quiz;

use tabys_core::{Error, Result};

/// Trimmed text of at most `max` characters without control characters
/// other than line breaks and tabs; `required` refuses an empty one.
pub(crate) fn text(raw: &str, field: &'static str, max: usize, required: bool) -> Result<String> {
    let s = raw.trim().replace("\r\n", "\n");
    if required && s.is_empty() {
        return Err(Error::invalid(field, "required"));
    }
    if s.chars().count() > max || s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(Error::invalid(field, "text-too-long"));
    }
    Ok(s)
}

/// A one-line title: 1 to 200 characters.
pub(crate) fn title(raw: &str, field: &'static str) -> Result<String> {
    let s = text(raw, field, 200, true)?;
    if s.contains('\n') {
        return Err(Error::invalid(field, "text-too-long"));
    }
    Ok(s)
}

/// An optional whole number in a range; empty is `None`.
pub(crate) fn number(
    raw: &str,
    field: &'static str,
    range: std::ops::RangeInclusive<i64>,
) -> Result<Option<i64>> {
    let s = raw.trim();
    if s.is_empty() {
        return Ok(None);
    }
    match s.parse::<i64>() {
        Ok(n) if range.contains(&n) => Ok(Some(n)),
        _ => Err(Error::invalid(field, "number-range")),
    }
}
