//! Which kind of message a notification is, by its `kind`, and so which
//! channels a person may switch off (PL-7, AT 6.18).
//!
//! * Service messages — offer changes (PL-4), money, security, suspensions
//!   and blocks (PL-8), documents (CP-5), certificates (LZ-6) — must reach
//!   the person: e-mail cannot be switched off.
//! * Events — reminders, course, booking and live-room events, support
//!   replies — are the person's choice per channel.
//! * Marketing needs the person's marketing consent (offers capability)
//!   and carries a one-click unsubscribe link.
//!
//! A kind nobody listed is treated as a service message: better one e-mail
//! too many about an account than a missed one.

/// The category of a notification kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Category {
    Service,
    Events,
    Marketing,
}

impl Category {
    /// Every category, in the order the preferences page shows them.
    pub const ALL: [Category; 3] = [Self::Service, Self::Events, Self::Marketing];

    pub fn code(self) -> &'static str {
        match self {
            Self::Service => "service",
            Self::Events => "events",
            Self::Marketing => "marketing",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.code() == s)
    }

    /// Whether the person may switch e-mail off for it.
    pub fn is_optional(self) -> bool {
        self != Self::Service
    }

    /// E-mail before the person chose anything.
    pub fn email_by_default(self) -> bool {
        true
    }
}

/// Capabilities whose notifications are events the person may mute.
const EVENT_PREFIXES: [&str; 7] = [
    "booking.",
    "live.",
    "course.",
    "learning.",
    "webinar.",
    "event.",
    "support.",
];

/// The category of a notification kind (`offer.new_version`, `booking.reminder`, …).
pub fn of_kind(kind: &str) -> Category {
    if kind.starts_with("marketing.") || kind == "mailing.marketing" {
        Category::Marketing
    } else if kind.ends_with(".reminder")
        || kind == "mailing.info"
        || EVENT_PREFIXES.iter().any(|p| kind.starts_with(p))
    {
        Category::Events
    } else {
        Category::Service
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offer_money_and_security_messages_cannot_be_switched_off() {
        for kind in [
            "offer.new_version",
            "billing.balance_negative",
            "refund.approved",
            "account.suspended",
            "security.compromised",
        ] {
            assert_eq!(of_kind(kind), Category::Service, "{kind}");
            assert!(!of_kind(kind).is_optional());
        }
    }

    #[test]
    fn reminders_and_course_events_are_optional() {
        for kind in [
            "booking.reminder",
            "live.reminder",
            "course.accepted",
            "support.reply",
            "documents.reminder",
        ] {
            assert_eq!(of_kind(kind), Category::Events, "{kind}");
        }
    }

    #[test]
    fn an_unknown_kind_is_a_service_message() {
        assert_eq!(of_kind("something.new"), Category::Service);
        assert_eq!(of_kind("mailing.marketing"), Category::Marketing);
    }
}
