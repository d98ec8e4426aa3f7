//! Object keys, made on the client so that objects can be created offline.
//!
//! A key is a ULID: 48 bits of milliseconds since the Unix epoch and 80 random bits, written as
//! 26 characters of Crockford base32. Keys made later sort after keys made earlier (to the
//! millisecond), and two devices never need to agree on a counter. The caller supplies the time
//! and the random bytes, which keeps this crate free of clocks and entropy sources.

use serde::{Deserialize, Serialize};
use std::fmt;

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const LEN: usize = 26;

/// The key of a synced object (reference, group, attachment, ...).
///
/// Kept as its 26 ASCII characters so it is `Copy`, compares like its text, and costs no heap.
/// The default key (all zeros) is never made by [`Key::new`] after 1970 and marks "no key yet".
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Key([u8; LEN]);

/// Why a string is not a valid key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidKey(pub String);

impl fmt::Display for InvalidKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} is not a valid key (26 characters of Crockford base32)",
            self.0
        )
    }
}

impl std::error::Error for InvalidKey {}

impl Key {
    /// A new key from the current time in milliseconds and 10 random bytes.
    pub fn new(unix_millis: u64, random: [u8; 10]) -> Key {
        let mut value: u128 = u128::from(unix_millis & 0xFFFF_FFFF_FFFF) << 80;
        for (i, b) in random.iter().enumerate() {
            value |= u128::from(*b) << (8 * (9 - i));
        }
        let mut out = [0u8; LEN];
        for (i, slot) in out.iter_mut().enumerate() {
            let shift = 5 * (LEN - 1 - i);
            *slot = ALPHABET[((value >> shift) & 0x1F) as usize];
        }
        Key(out)
    }

    /// Parse a key received from elsewhere (storage, the network, the command line).
    /// Lower case is accepted and normalised, as Crockford base32 allows.
    pub fn parse(s: &str) -> Result<Key, InvalidKey> {
        let upper = s.to_ascii_uppercase();
        let valid = upper.len() == LEN
            && upper.bytes().all(|b| ALPHABET.contains(&b))
            // 26 base32 digits hold 130 bits; a ULID has 128, so the first digit is at most 7.
            && upper.as_bytes()[0] <= b'7';
        if valid {
            let mut out = [0u8; LEN];
            out.copy_from_slice(upper.as_bytes());
            Ok(Key(out))
        } else {
            Err(InvalidKey(s.to_string()))
        }
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII from ALPHABET is ever stored.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The creation time encoded in the key, in milliseconds since the Unix epoch.
    pub fn unix_millis(&self) -> u64 {
        let mut value: u64 = 0;
        for &b in self.0.iter().take(10) {
            let digit = ALPHABET.iter().position(|&a| a == b).unwrap_or(0) as u64;
            value = (value << 5) | digit;
        }
        value
    }
}

impl Default for Key {
    fn default() -> Key {
        Key([b'0'; LEN])
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key({})", self.as_str())
    }
}

impl TryFrom<String> for Key {
    type Error = InvalidKey;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Key::parse(&s)
    }
}

impl From<Key> for String {
    fn from(k: Key) -> String {
        k.as_str().to_string()
    }
}

/// On the wire a key is its 26 characters.
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Key {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some("^[0-9A-HJKMNP-TV-Z]{26}$"))
            .examples([serde_json::json!("01ARZ3NDEKTSV4RRFFQ69G5FAV")])
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Key {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_time_and_randomness_as_26_characters() {
        let k = Key::new(1_700_000_000_000, [0xFF; 10]);
        assert_eq!(k.as_str().len(), 26);
        assert_eq!(k.unix_millis(), 1_700_000_000_000);
        assert!(k.as_str().ends_with("ZZZZZZZZZZZZZZZZ"));
        assert_eq!(Key::new(0, [0; 10]).as_str(), "00000000000000000000000000");
    }

    #[test]
    fn later_keys_sort_after_earlier_ones() {
        let a = Key::new(1_000, [0xFF; 10]);
        let b = Key::new(1_001, [0; 10]);
        assert!(a < b);
    }

    #[test]
    fn parse_accepts_its_own_output_and_lower_case() {
        let k = Key::new(1_700_000_000_123, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        assert_eq!(Key::parse(k.as_str()), Ok(k));
        assert_eq!(Key::parse(&k.as_str().to_lowercase()), Ok(k));
    }

    #[test]
    fn parse_rejects_wrong_length_alphabet_and_overflow() {
        assert!(Key::parse("").is_err());
        assert!(Key::parse("0000000000000000000000000").is_err());
        assert!(Key::parse("0000000000000000000000000U").is_err()); // U is not Crockford
        assert!(Key::parse("80000000000000000000000000").is_err()); // > 128 bits
    }

    #[test]
    fn serde_round_trip_validates() {
        let k = Key::new(42, [7; 10]);
        let json = serde_json::to_string(&k).unwrap();
        assert_eq!(serde_json::from_str::<Key>(&json).unwrap(), k);
        assert!(serde_json::from_str::<Key>("\"not a key\"").is_err());
    }
}
