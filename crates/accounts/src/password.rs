//! Passwords are hashed with Argon2id (the crate's defaults, which follow
//! OWASP's minimum), off the async threads because hashing is deliberately slow.

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use tabys_core::{Error, Result};

pub const MIN_LEN: usize = 8;
pub const MAX_LEN: usize = 256;

/// Checks a new password's length; returns the error for the given field.
pub fn check_new(password: &str, field: &'static str) -> Result<()> {
    let chars = password.chars().count();
    if chars < MIN_LEN {
        return Err(Error::invalid(field, "password-too-short"));
    }
    if chars > MAX_LEN {
        return Err(Error::invalid(field, "password-too-long"));
    }
    Ok(())
}

pub async fn hash(password: &str) -> Result<String> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(Error::internal)
    })
    .await
    .map_err(Error::internal)?
}

pub async fn verify(password: &str, stored: &str) -> Result<bool> {
    let password = password.to_owned();
    let stored = stored.to_owned();
    tokio::task::spawn_blocking(move || {
        let parsed = PasswordHash::new(&stored).map_err(Error::internal)?;
        Ok(Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok())
    })
    .await
    .map_err(Error::internal)?
}

/// Verifies a password against a hash of nothing anyone knows: the cost
/// of a real check, for an email that has no account.
pub async fn verify_against_nothing(password: &str) -> Result<()> {
    static DECOY: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    let decoy = DECOY
        .get_or_try_init(|| async { hash(&tabys_store::token::random_token()).await })
        .await?;
    verify(password, decoy).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_verifies_only_the_same_password() -> Result<()> {
        let h = hash("correct horse").await?;
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct horse", &h).await?);
        assert!(!verify("correct horsE", &h).await?);
        Ok(())
    }

    #[test]
    fn short_passwords_are_refused() {
        assert!(check_new("1234567", "password").is_err());
        assert!(check_new("12345678", "password").is_ok());
    }
}
