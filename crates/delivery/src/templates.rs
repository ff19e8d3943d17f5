//! The arguments each notification's callers supply, by locale key: the
//! template test renders every key with exactly these, so a template that
//! uses a variable its caller does not pass fails the test rather than a
//! person's message. A capability adding a notification adds its line.

/// `(key, arguments)` for every notification key.
pub const DECLARED: &[(&str, &[&str])] = &[
    // offers (PL-4)
    (
        "notify-offer-new-version",
        &["org", "number", "document", "effective"],
    ),
    // billing
    ("notify-balance-negative", &["date"]),
    ("notify-rest-due", &["order", "amount", "date"]),
    ("notify-recurring-suspended", &["title"]),
    ("notify-refund-approved", &["amount", "order"]),
    ("notify-refund-refused", &["order"]),
    // support chat
    ("notify-support-message", &["thread", "subject", "desk"]),
    ("notify-support-reply", &["thread", "subject", "desk"]),
    // mailings
    ("notify-mailing", &["org", "subject", "body"]),
    // learning: the certificate's e-mail carries its PDF
    (
        "notify-course-certificate",
        &["course", "number", "link", "verify"],
    ),
    // live: reminders, to accounts and to guests alike
    (
        "notify-live-reminder-day",
        &["title", "when", "link", "cancel_link"],
    ),
    (
        "notify-live-reminder-hour",
        &["title", "when", "link", "cancel_link"],
    ),
];

/// Keys under `notify-` that are parts of every e-mail, not notifications.
pub const PAGE_TEXTS: &[&str] = &["notify-email-"];
