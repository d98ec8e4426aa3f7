//! The sync service over `fetch`, from the same origin as the app.
//!
//! Invariant: every failure becomes a [`SyncError`] of the right kind — no answer is
//! `connection` (the engine retries it), the service's `{code, message}` errors keep their
//! code, anything else the service should not say is `server`.

use crate::browser;
use gloo_net::http::{Request, RequestBuilder};
use refsync_core::protocol::{
    changes_query, Batch, BatchResult, ChangesPage, ErrorBody, Link, LinkRequest, Me, Register,
    ResetRequest, ResetResult, Session, SignIn, API_V1, EPOCH_HEADER,
};
use refsync_core::sync::{ErrorKind, Remote, SyncError};
use serde::de::DeserializeOwned;
use serde::Serialize;

fn url(path: &str) -> String {
    format!("{API_V1}{path}")
}

async fn send<T: DeserializeOwned>(req: Result<Request, gloo_net::Error>) -> Result<T, SyncError> {
    let req = req.map_err(|e| SyncError::new(ErrorKind::Invalid, e.to_string()))?;
    let resp = req.send().await.map_err(|_| {
        SyncError::new(
            ErrorKind::Connection,
            "The refsync service cannot be reached.",
        )
    })?;
    let status = resp.status();
    let text = resp.text().await.map_err(|_| {
        SyncError::new(
            ErrorKind::Connection,
            "The connection broke during the answer.",
        )
    })?;
    if (200..300).contains(&status) {
        return serde_json::from_str(&text).map_err(|e| {
            SyncError::new(
                ErrorKind::Server,
                format!("The service's answer could not be read ({e})."),
            )
        });
    }
    match serde_json::from_str::<ErrorBody>(&text) {
        Ok(body) => Err(SyncError::from_code(body.code, body.message)),
        Err(_) => Err(SyncError::new(
            ErrorKind::Server,
            format!("The service answered {status}."),
        )),
    }
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

/// Who the token belongs to, and their library.
pub async fn me(token: &str) -> Result<Me, SyncError> {
    send(
        Request::get(&url("/me"))
            .header("Authorization", &format!("Bearer {token}"))
            .build(),
    )
    .await
}

/// Core's `Remote` for one signed-in library.
#[derive(Clone, Debug)]
pub struct BrowserRemote {
    pub token: String,
    pub library_id: String,
    pub device_id: String,
}

impl BrowserRemote {
    fn lib_url(&self, path: &str) -> String {
        url(&format!("/libraries/{}/{path}", self.library_id))
    }

    fn auth(&self, req: RequestBuilder) -> RequestBuilder {
        req.header("Authorization", &format!("Bearer {}", self.token))
    }
}

impl Remote for BrowserRemote {
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
        let query = changes_query(since, cursor);
        send(
            self.auth(Request::get(&self.lib_url("changes")))
                .query(query.iter().map(|(k, v)| (*k, v.as_str())))
                .header(EPOCH_HEADER, &epoch.to_string())
                .build(),
        )
        .await
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

    async fn pause(&self, millis: u64) {
        browser::sleep(millis).await;
    }
}
