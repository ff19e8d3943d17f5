//! Typed ids. An `OrgId` cannot be passed where a `UserId` is expected, so a
//! tenant-scoped query cannot be handed the wrong number by accident.

macro_rules! id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id!(
    /// A person's account.
    UserId
);
id!(
    /// An organizer: the tenant that owns offers, products, customers and staff.
    OrgId
);
