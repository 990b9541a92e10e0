//! SCRAM-SHA-256 password verifiers, as PostgreSQL stores them in `pg_authid.rolpassword`
//! (`SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`, RFC 5802/7677).
//!
//! Provisioning sends a verifier instead of the password, so the plaintext never reaches
//! the server's statement log, and compares the environment's password with the stored
//! verifier, so a second run does not reset passwords that already match.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::{digest, hmac, pbkdf2, rand::SecureRandom};

/// PostgreSQL's default `scram_iterations`.
const ITERATIONS: u32 = 4096;

fn keys(password: &str, salt: &[u8], iterations: u32) -> Option<(Vec<u8>, Vec<u8>)> {
    let mut salted = [0u8; 32];
    pbkdf2::derive(
        pbkdf2::PBKDF2_HMAC_SHA256,
        std::num::NonZeroU32::new(iterations)?,
        salt,
        password.as_bytes(),
        &mut salted,
    );
    let key = hmac::Key::new(hmac::HMAC_SHA256, &salted);
    let client_key = hmac::sign(&key, b"Client Key");
    let stored_key = digest::digest(&digest::SHA256, client_key.as_ref());
    let server_key = hmac::sign(&key, b"Server Key");
    Some((stored_key.as_ref().to_vec(), server_key.as_ref().to_vec()))
}

/// A new verifier for `password` with a random salt. Only ASCII passwords are accepted by
/// the caller: PostgreSQL applies SASLprep to non-ASCII passwords, which this does not.
pub(crate) fn verifier(password: &str) -> Result<String, String> {
    let mut salt = [0u8; 16];
    ring::rand::SystemRandom::new()
        .fill(&mut salt)
        .map_err(|_| "the system random number generator failed".to_owned())?;
    let (stored, server) =
        keys(password, &salt, ITERATIONS).ok_or_else(|| "zero iterations".to_owned())?;
    Ok(format!(
        "SCRAM-SHA-256${ITERATIONS}:{}${}:{}",
        STANDARD.encode(salt),
        STANDARD.encode(stored),
        STANDARD.encode(server)
    ))
}

/// True when `stored` (a `pg_authid.rolpassword`) is a SCRAM verifier of `password`.
/// Anything else (md5 hashes, NULL, garbage) is "does not match".
pub(crate) fn matches(password: &str, stored: &str) -> bool {
    let Some(rest) = stored.strip_prefix("SCRAM-SHA-256$") else {
        return false;
    };
    let Some((params, key_part)) = rest.split_once('$') else {
        return false;
    };
    let Some((iterations, salt)) = params.split_once(':') else {
        return false;
    };
    let Some((stored_key, server_key)) = key_part.split_once(':') else {
        return false;
    };
    let (Ok(iterations), Ok(salt), Ok(stored_key), Ok(server_key)) = (
        iterations.parse::<u32>(),
        STANDARD.decode(salt),
        STANDARD.decode(stored_key),
        STANDARD.decode(server_key),
    ) else {
        return false;
    };
    match keys(password, &salt, iterations) {
        Some((a, b)) => a == stored_key && b == server_key,
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_verifier_matches_its_password_only() {
        let v = verifier("s3cret").unwrap();
        assert!(v.starts_with("SCRAM-SHA-256$4096:"));
        assert!(matches("s3cret", &v));
        assert!(!matches("s3cret!", &v));
        assert!(!matches("s3cret", "md5abc"));
        assert_ne!(verifier("s3cret").unwrap(), v, "salts are random");
    }
}
