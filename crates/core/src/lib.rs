//! Pure values shared by every Tabys capability: money in tiyn, typed ids, the
//! injected clock, the Kazakhstan business calendar, validators for the
//! identifiers Kazakh businesses use (IIN/BIN, IBAN, BIK, KBe, phone, email)
//! and the one error type whose codes the pages translate.
//!
//! This crate does no I/O: no database, no network, no files at run time.

pub mod calendar;
pub mod clock;
pub mod email;
pub mod error;
pub mod html;
pub mod iban;
pub mod ids;
pub mod iin;
pub mod locale;
pub mod money;
pub mod phone;

pub use clock::{Clock, SystemClock, TestClock, Timestamp};
pub use error::{Error, FieldError, Invalid, Result};
