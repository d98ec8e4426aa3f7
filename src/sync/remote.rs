//! The sync service over `fetch`, from the same origin as the app.
//!
//! Invariants: every failure becomes a [`SyncError`] of the right kind — no answer is
//! `connection` (the engine retries it), the service's `{code, message}` errors keep their
//! code, anything else the service should not say is `server`; and a page asked for ahead
//! (see [`BrowserRemote::changes`]) is only ever handed to the call that asks for exactly
//! that page, so it is a faster answer, never a different one.

pub mod sharing;

use crate::browser;
use gloo_net::http::{Request, RequestBuilder, Response};
use refsync_core::protocol::{
    changes_query, Batch, BatchResult, ChangePassword, ChangesPage, ErrorBody, Link, LinkRequest,
    Me, Register, ResetRequest, ResetResult, Session, SignIn, StreamTicket, SyncReport, API_V1,
    EPOCH_HEADER,
};
use refsync_core::sync::{ErrorKind, Remote, SyncError};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::JsValue;

fn url(path: &str) -> String {
    format!("{API_V1}{path}")
}

/// Send `req`; a 2xx answer is returned, anything else becomes the matching error.
async fn send_raw(req: Result<Request, gloo_net::Error>) -> Result<Response, SyncError> {
    let req = req.map_err(|e| SyncError::new(ErrorKind::Invalid, e.to_string()))?;
    let resp = req.send().await.map_err(|_| {
        SyncError::new(
            ErrorKind::Connection,
            "The refsync service cannot be reached.",
        )
    })?;
    let status = resp.status();
    if (200..300).contains(&status) {
        return Ok(resp);
    }
    let text = resp.text().await.map_err(|_| broken())?;
    match serde_json::from_str::<ErrorBody>(&text) {
        Ok(body) => Err(SyncError::from_code(body.code, body.message)),
        Err(_) => Err(SyncError::new(
            ErrorKind::Server,
            format!("The service answered {status}."),
        )),
    }
}

fn broken() -> SyncError {
    SyncError::new(
        ErrorKind::Connection,
        "The connection broke during the answer.",
    )
}

async fn send<T: DeserializeOwned>(req: Result<Request, gloo_net::Error>) -> Result<T, SyncError> {
    let text = send_raw(req).await?.text().await.map_err(|_| broken())?;
    serde_json::from_str(&text).map_err(|e| {
        SyncError::new(
            ErrorKind::Server,
            format!("The service's answer could not be read ({e})."),
        )
    })
}

fn with_json<B: Serialize>(req: RequestBuilder, body: &B) -> Result<Request, gloo_net::Error> {
    req.json(body)
}

/// Make an account (and sign in to it).
pub async fn register(email: &str, password: &str) -> Result<Session, SyncError> {
    let body = Register {
        email: email.to_string(),
        password: password.to_string(),
    };
    send(with_json(Request::post(&url("/account")), &body)).await
}

/// Sign in.
pub async fn sign_in(email: &str, password: &str) -> Result<Session, SyncError> {
    let body = SignIn {
        email: email.to_string(),
        password: password.to_string(),
        device_name: browser::device_name(),
    };
    send(with_json(Request::post(&url("/session")), &body)).await
}

/// Sign out (the token stops working).
pub async fn sign_out(token: &str) -> Result<(), SyncError> {
    let resp = Request::delete(&url("/session"))
        .header("Authorization", &format!("Bearer {token}"))
        .send()
        .await
        .map_err(|_| SyncError::new(ErrorKind::Connection, "The service cannot be reached."))?;
    if resp.ok() || resp.status() == 401 {
        Ok(())
    } else {
        Err(SyncError::new(
            ErrorKind::Server,
            format!("The service answered {}.", resp.status()),
        ))
    }
}

/// Change the password; the service signs out every other session.
pub async fn change_password(token: &str, current: &str, new: &str) -> Result<(), SyncError> {
    let body = ChangePassword {
        current_password: current.to_string(),
        new_password: new.to_string(),
    };
    send_raw(with_json(
        Request::post(&url("/account/password"))
            .header("Authorization", &format!("Bearer {token}")),
        &body,
    ))
    .await
    .map(drop)
}

/// Who the token belongs to, and their library.
pub async fn me(token: &str) -> Result<Me, SyncError> {
    send(
        Request::get(&url("/me"))
            .header("Authorization", &format!("Bearer {token}"))
            .build(),
    )
    .await
}

/// A one-use ticket that opens the account's change-hint stream of all its libraries (an
/// EventSource cannot send the session token in a header, and the token must never be put in
/// a URL).
pub async fn stream_ticket(token: &str) -> Result<StreamTicket, SyncError> {
    send(
        Request::post(&url("/events/ticket"))
            .header("Authorization", &format!("Bearer {token}"))
            .build(),
    )
    .await
}

/// Core's `Remote` for one signed-in library (made for one sync).
#[derive(Clone, Debug)]
pub struct BrowserRemote {
    pub token: String,
    pub library_id: String,
    pub device_id: String,
    /// The page after the last one answered, on its way.
    ahead: Rc<RefCell<Option<PageAhead>>>,
}

/// A page of changes asked for before the engine asks for it.
#[derive(Debug)]
struct PageAhead {
    epoch: u64,
    since: u64,
    cursor: String,
    answer: futures_channel::oneshot::Receiver<Result<ChangesPage, SyncError>>,
}

impl BrowserRemote {
    pub fn new(token: String, library_id: String, device_id: String) -> BrowserRemote {
        BrowserRemote {
            token,
            library_id,
            device_id,
            ahead: Rc::default(),
        }
    }

    async fn fetch_changes(
        &self,
        epoch: u64,
        since: u64,
        cursor: Option<&str>,
    ) -> Result<ChangesPage, SyncError> {
        let query = changes_query(since, cursor);
        send(
            self.auth(Request::get(&self.lib_url("changes")))
                .query(query.iter().map(|(k, v)| (*k, v.as_str())))
                .header(EPOCH_HEADER, &epoch.to_string())
                .build(),
        )
        .await
    }

    fn lib_url(&self, path: &str) -> String {
        url(&format!("/libraries/{}/{path}", self.library_id))
    }

    fn auth(&self, req: RequestBuilder) -> RequestBuilder {
        req.header("Authorization", &format!("Bearer {}", self.token))
    }

    /// Add a line to the service's sync log.
    pub async fn report(&self, line: &SyncReport) -> Result<(), SyncError> {
        send_raw(with_json(
            self.auth(Request::post(&self.lib_url("sync-log"))),
            line,
        ))
        .await
        .map(drop)
    }

    /// Upload an attachment's bytes (the service checks the hash and the storage limit).
    pub async fn upload(&self, sha256: &str, bytes: &web_sys::Blob) -> Result<(), SyncError> {
        send_raw(
            self.auth(Request::put(&self.lib_url(&format!("files/{sha256}"))))
                .header("Content-Type", "application/octet-stream")
                .body(JsValue::from(bytes.clone())),
        )
        .await
        .map(drop)
    }

    /// Download an attachment's bytes, as a Blob of `media_type`.
    pub async fn download(
        &self,
        sha256: &str,
        media_type: &str,
    ) -> Result<web_sys::Blob, SyncError> {
        let resp = send_raw(
            self.auth(Request::get(&self.lib_url(&format!("files/{sha256}"))))
                .build(),
        )
        .await?;
        let bytes = resp.binary().await.map_err(|_| broken())?;
        let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes.as_slice()));
        let options = web_sys::BlobPropertyBag::new();
        options.set_type(media_type);
        web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options).map_err(|_| {
            SyncError::new(
                ErrorKind::Local,
                "This browser could not keep the downloaded file.",
            )
        })
    }
}

impl Remote for BrowserRemote {
    fn library_id(&self) -> &str {
        &self.library_id
    }

    async fn link(&self) -> Result<Link, SyncError> {
        let body = LinkRequest {
            device_id: self.device_id.clone(),
            device_name: browser::device_name(),
        };
        send(with_json(
            self.auth(Request::post(&self.lib_url("link"))),
            &body,
        ))
        .await
    }

    async fn changes(
        &self,
        epoch: u64,
        since: u64,
        cursor: Option<&str>,
    ) -> Result<ChangesPage, SyncError> {
        // While the engine stores a page, the next one is already being served, sent and
        // parsed: a long download takes about the longer of fetching and storing instead of
        // their sum. The page asked ahead is used only by the call for exactly that page.
        let started = browser::perf_now();
        let ahead =
            self.ahead.borrow_mut().take().filter(|a| {
                a.epoch == epoch && a.since == since && cursor == Some(a.cursor.as_str())
            });
        let page = match ahead {
            Some(a) => match a.answer.await {
                Ok(page) => page,
                // The task asking ahead was dropped: ask now.
                Err(_) => self.fetch_changes(epoch, since, cursor).await,
            },
            None => self.fetch_changes(epoch, since, cursor).await,
        };
        // How long the engine waited for the page (not how long it took to come).
        browser::measure("sync-fetch-page", started);
        if let Ok(ChangesPage {
            next: Some(next), ..
        }) = &page
        {
            let (tell, answer) = futures_channel::oneshot::channel();
            let remote = self.clone();
            let cursor = next.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let page = remote.fetch_changes(epoch, since, Some(&cursor)).await;
                // Nobody waiting any more (the sync failed): the page is not needed.
                let _ = tell.send(page);
            });
            *self.ahead.borrow_mut() = Some(PageAhead {
                epoch,
                since,
                cursor: next.clone(),
                answer,
            });
        }
        page
    }

    async fn batch(&self, epoch: u64, batch: &Batch) -> Result<BatchResult, SyncError> {
        send(with_json(
            self.auth(Request::post(&self.lib_url("batch")))
                .header(EPOCH_HEADER, &epoch.to_string()),
            batch,
        ))
        .await
    }

    async fn reset(&self, wipe: bool) -> Result<ResetResult, SyncError> {
        send(with_json(
            self.auth(Request::post(&self.lib_url("reset"))),
            &ResetRequest { wipe },
        ))
        .await
    }

    async fn pause(&self, millis: u64) -> bool {
        // A browser that says it is offline cannot reach the service by waiting: the sync
        // stops now and runs again when the network is back (the `online` event).
        if browser::offline() {
            return false;
        }
        browser::sleep(millis).await;
        !browser::offline()
    }
}
