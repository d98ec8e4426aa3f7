//! Code loaded on first use: what a window does not need to open (dialogs, views behind a
//! click) is split out of the app's first download into modules fetched the first time they
//! are wanted (docs/web.md, "The first download").
//!
//! [`later!`] marks such a function. With the `split` feature (the release build that
//! `cargo xtask` makes) it is a split point of `wasm_split`, through Leptos' re-export: the
//! first call fetches the function's module, every call then runs it. Without the feature
//! (the browser tests, debug builds) it is the same function made `async`, and nothing is
//! split. Either way a caller awaits it, so both builds run the same code paths.
//!
//! Invariants: a `later!` function's arguments and result are concrete types (no generics, no
//! `impl`), as a split point's must be; views from one are shown through [`loaded`], which
//! keeps the caller's reactive owner (contexts work inside) and shows nothing until the code
//! is here. The split modules are precached by the service worker (sw.js), so a feature never
//! used online still opens offline.

use leptos::prelude::*;
use send_wrapper::SendWrapper;
use std::future::Future;

/// Declare a function whose code is loaded on first use:
/// `later! { module; fn name(..) -> T {..} }` or `later! { module; async fn name(..) -> T {..} }`.
/// Either way the function becomes `async fn name(..) -> Result<T, NotLoaded>`: `Err` when its
/// module could not be fetched (offline before the service worker kept it), which the caller
/// turns into words; a later call tries again. Functions naming the same module are fetched
/// together.
macro_rules! later {
    ($module:ident;
        $(#[$attr:meta])*
        $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty $body:block
    ) => {
        #[cfg(feature = "split")]
        $(#[$attr])*
        #[::leptos::wasm_split::wasm_split($module, wasm_split_path = ::leptos::wasm_split, fallible)]
        $vis fn $name($($arg: $ty),*) -> ::std::result::Result<$ret, $crate::later::NotLoaded> {
            #[allow(clippy::redundant_closure_call)]
            Ok((move || $body)())
        }

        #[cfg(not(feature = "split"))]
        $(#[$attr])*
        $vis async fn $name($($arg: $ty),*) -> ::std::result::Result<$ret, $crate::later::NotLoaded> {
            #[allow(clippy::redundant_closure_call)]
            Ok((move || $body)())
        }
    };
    ($module:ident;
        $(#[$attr:meta])*
        $vis:vis async fn $name:ident($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty $body:block
    ) => {
        // A split point cannot be async: it returns the future, which its caller awaits.
        #[cfg(feature = "split")]
        $(#[$attr])*
        #[::leptos::wasm_split::wasm_split(
            $module,
            wasm_split_path = ::leptos::wasm_split,
            fallible,
            return_wrapper(
                let future = _; { future.await } -> ::std::result::Result<$ret, $crate::later::NotLoaded>
            )
        )]
        $vis fn $name(
            $($arg: $ty),*
        ) -> ::std::pin::Pin<::std::boxed::Box<
            dyn ::std::future::Future<Output = ::std::result::Result<$ret, $crate::later::NotLoaded>>,
        >> {
            ::std::boxed::Box::pin(async move { Ok((async move $body).await) })
        }

        #[cfg(not(feature = "split"))]
        $(#[$attr])*
        $vis async fn $name($($arg: $ty),*) -> ::std::result::Result<$ret, $crate::later::NotLoaded> {
            Ok((async move $body).await)
        }
    };
}
pub(crate) use later;

/// A part of the app that this browser does not hold and could not fetch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotLoaded;

impl From<leptos::wasm_split::SplitLoaderError> for NotLoaded {
    fn from(_: leptos::wasm_split::SplitLoaderError) -> Self {
        NotLoaded
    }
}

impl std::fmt::Display for NotLoaded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(
            "This part of refsync is not in this browser yet and could not be fetched from the service. Try again when online.",
        )
    }
}

/// Show the view a [`later!`] function makes, once its code is here; if it could not be
/// fetched, say so with a button that tries again.
pub fn loaded<F, Fut>(make: F) -> impl IntoView
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<AnyView, NotLoaded>> + 'static,
{
    let attempt = RwSignal::new(0u32);
    move || {
        attempt.track();
        let view = make();
        // Suspend wants a Send future (it serves servers too); this app runs on one thread.
        Suspend::new(SendWrapper::new(async move {
            match view.await {
                Ok(view) => view,
                Err(e) => view! {
                    <div class="load-failed" role="alert">
                        <p>{e.to_string()}</p>
                        <button type="button" class="btn" on:click=move |_| attempt.update(|n| *n += 1)>
                            "Try again"
                        </button>
                    </div>
                }
                .into_any(),
            }
        }))
    }
}
