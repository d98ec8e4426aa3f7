//! The few browser facilities the app needs beyond Leptos: the clock and randomness for new
//! object keys.

use refsync_core::Key;

/// Milliseconds since the Unix epoch, from the browser's clock.
pub fn now_millis() -> u64 {
    js_sys::Date::now() as u64
}

/// A new object key from the clock and the browser's cryptographic random source.
pub fn new_key() -> Key {
    let mut random = [0u8; 10];
    let filled = web_sys::window()
        .and_then(|w| w.crypto().ok())
        .is_some_and(|c| c.get_random_values_with_u8_array(&mut random).is_ok());
    if !filled {
        // No Web Crypto (very old browsers): Math.random is weaker but keys only need to be
        // unique, not secret.
        for b in &mut random {
            *b = (js_sys::Math::random() * 256.0) as u8;
        }
    }
    Key::new(now_millis(), random)
}
