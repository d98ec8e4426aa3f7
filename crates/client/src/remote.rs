//! The sync service over HTTP: core's [`Remote`] for native clients (the CLI, and the tests
//! that run the engine against the real service).
//!
//! Invariant: every failure becomes a [`SyncError`] of the right kind: no answer or a broken
//! connection is `connection` (retried by the engine), the service's `{code, message}` errors
//! keep their code, and any other answer the service should not give is `server`.

use refsync_core::protocol::{
    changes_query, Activity, Batch, BatchResult, ChangesPage, ErrorBody, Hint, Invitation,
    Invitations, Invite, Libraries, LibraryName, LibrarySummary, Link, LinkRequest, Me, Member,
    Members, Register, ResetRequest, ResetResult, Role, Session, SetRole, SignIn, StreamTicket,
    SyncReport, API_V1, EPOCH_HEADER,
};
use refsync_core::sync::{ErrorKind, Remote, SyncError};
use serde::de::DeserializeOwned;
use std::time::Duration;

#[derive(Clone)]
pub struct HttpRemote {
    http: reqwest::Client,
    /// `http://host:port`, no trailing slash.
    base: String,
    token: String,
    library_id: String,
    device_id: String,
    device_name: String,
}

impl HttpRemote {
    pub fn new(
        base: &str,
        token: &str,
        library_id: &str,
        device_id: &str,
        device_name: &str,
    ) -> Result<HttpRemote, SyncError> {
        let http = reqwest::Client::builder()
            .gzip(true)
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(300))
            .build()
            .map_err(|e| SyncError::new(ErrorKind::Connection, e.to_string()))?;
        Ok(HttpRemote {
            http,
            base: base.trim_end_matches('/').to_string(),
            token: token.to_string(),
            library_id: library_id.to_string(),
            device_id: device_id.to_string(),
            device_name: device_name.to_string(),
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{API_V1}/libraries/{}/{path}", self.base, self.library_id)
    }

    async fn send<T: DeserializeOwned>(
        &self,
        req: reqwest::RequestBuilder,
    ) -> Result<T, SyncError> {
        answer(req.bearer_auth(&self.token).send().await).await
    }
}

impl Remote for HttpRemote {
    fn library_id(&self) -> &str {
        &self.library_id
    }

    async fn link(&self) -> Result<Link, SyncError> {
        let body = LinkRequest {
            device_id: self.device_id.clone(),
            device_name: self.device_name.clone(),
        };
        self.send(self.http.post(self.url("link")).json(&body))
            .await
    }

    async fn changes(
        &self,
        epoch: u64,
        since: u64,
        cursor: Option<&str>,
    ) -> Result<ChangesPage, SyncError> {
        let query = changes_query(since, cursor);
        self.send(
            self.http
                .get(self.url("changes"))
                .query(&query)
                .header(EPOCH_HEADER, epoch.to_string()),
        )
        .await
    }

    async fn batch(&self, epoch: u64, batch: &Batch) -> Result<BatchResult, SyncError> {
        self.send(
            self.http
                .post(self.url("batch"))
                .header(EPOCH_HEADER, epoch.to_string())
                .json(batch),
        )
        .await
    }

    async fn reset(&self, wipe: bool) -> Result<ResetResult, SyncError> {
        self.send(
            self.http
                .post(self.url("reset"))
                .json(&ResetRequest { wipe }),
        )
        .await
    }

    async fn pause(&self, millis: u64) -> bool {
        tokio::time::sleep(Duration::from_millis(millis)).await;
        true
    }
}

/// The account side of the service: sign in, make an account, and the account's shared
/// libraries, members and invitations.
pub struct Service {
    http: reqwest::Client,
    base: String,
}

impl Service {
    pub fn new(base: &str) -> Result<Service, SyncError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| SyncError::new(ErrorKind::Connection, e.to_string()))?;
        Ok(Service {
            http,
            base: base.trim_end_matches('/').to_string(),
        })
    }

    async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &impl serde::Serialize,
    ) -> Result<T, SyncError> {
        let req = self
            .http
            .post(format!("{}{API_V1}{path}", self.base))
            .json(body);
        answer(req.send().await).await
    }

    pub async fn sign_in(&self, body: &SignIn) -> Result<Session, SyncError> {
        self.post("/session", body).await
    }

    pub async fn register(&self, body: &Register) -> Result<Session, SyncError> {
        self.post("/account", body).await
    }

    /// Who `token` belongs to, and their library.
    pub async fn me(&self, token: &str) -> Result<Me, SyncError> {
        let req = self
            .http
            .get(format!("{}{API_V1}/me", self.base))
            .bearer_auth(token);
        answer(req.send().await).await
    }

    fn signed(&self, token: &str, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{API_V1}{path}", self.base))
            .bearer_auth(token)
    }

    /// Every library the account can open (docs/sharing.md): its own first, then shared ones.
    pub async fn libraries(&self, token: &str) -> Result<Vec<LibrarySummary>, SyncError> {
        let req = self.signed(token, reqwest::Method::GET, "/libraries");
        answer::<Libraries>(req.send().await)
            .await
            .map(|l| l.libraries)
    }

    /// A new, empty shared library owned by the account.
    pub async fn create_library(
        &self,
        token: &str,
        name: &str,
    ) -> Result<LibrarySummary, SyncError> {
        let req = self
            .signed(token, reqwest::Method::POST, "/libraries")
            .json(&LibraryName {
                name: name.to_string(),
            });
        answer(req.send().await).await
    }

    pub async fn members(&self, token: &str, library: &str) -> Result<Vec<Member>, SyncError> {
        let path = format!("/libraries/{library}/members");
        let req = self.signed(token, reqwest::Method::GET, &path);
        answer::<Members>(req.send().await).await.map(|m| m.members)
    }

    pub async fn invite(
        &self,
        token: &str,
        library: &str,
        invite: &Invite,
    ) -> Result<Invitation, SyncError> {
        let path = format!("/libraries/{library}/invitations");
        let req = self
            .signed(token, reqwest::Method::POST, &path)
            .json(invite);
        answer(req.send().await).await
    }

    /// Another role for a member (the owner only).
    pub async fn set_role(
        &self,
        token: &str,
        library: &str,
        account: &str,
        role: Role,
    ) -> Result<(), SyncError> {
        let path = format!("/libraries/{library}/members/{account}");
        let req = self
            .signed(token, reqwest::Method::PUT, &path)
            .json(&SetRole { role });
        raw(req.send().await).await.map(drop)
    }

    /// Remove a member (the owner), or leave (one's own account).
    pub async fn remove_member(
        &self,
        token: &str,
        library: &str,
        account: &str,
    ) -> Result<(), SyncError> {
        let path = format!("/libraries/{library}/members/{account}");
        let req = self.signed(token, reqwest::Method::DELETE, &path);
        raw(req.send().await).await.map(drop)
    }

    /// A library's pending invitations (its owner only).
    pub async fn invitations_of(
        &self,
        token: &str,
        library: &str,
    ) -> Result<Vec<Invitation>, SyncError> {
        let path = format!("/libraries/{library}/invitations");
        let req = self.signed(token, reqwest::Method::GET, &path);
        answer::<Invitations>(req.send().await)
            .await
            .map(|i| i.invitations)
    }

    /// The pending invitations addressed to the account.
    pub async fn invitations(&self, token: &str) -> Result<Vec<Invitation>, SyncError> {
        let req = self.signed(token, reqwest::Method::GET, "/invitations");
        answer::<Invitations>(req.send().await)
            .await
            .map(|i| i.invitations)
    }

    /// Accept an invitation (the library it opens) or decline it (`None`).
    pub async fn answer_invitation(
        &self,
        token: &str,
        invitation: &str,
        accept: bool,
    ) -> Result<Option<LibrarySummary>, SyncError> {
        let verb = if accept { "accept" } else { "decline" };
        let path = format!("/invitations/{invitation}/{verb}");
        let req = self.signed(token, reqwest::Method::POST, &path);
        if accept {
            answer(req.send().await).await.map(Some)
        } else {
            raw(req.send().await).await.map(|_| None)
        }
    }

    /// The library's latest changes, newest first.
    pub async fn activity(
        &self,
        token: &str,
        library: &str,
        limit: usize,
    ) -> Result<Activity, SyncError> {
        let path = format!("/libraries/{library}/activity?limit={limit}");
        let req = self.signed(token, reqwest::Method::GET, &path);
        answer(req.send().await).await
    }
}

/// A response read as `T`, or the failure it means.
async fn answer<T: DeserializeOwned>(
    resp: Result<reqwest::Response, reqwest::Error>,
) -> Result<T, SyncError> {
    let bytes = raw(resp).await?;
    serde_json::from_slice(&bytes).map_err(|e| {
        SyncError::new(
            ErrorKind::Server,
            format!("the service's answer is unreadable: {e}"),
        )
    })
}

/// A successful response's body, or the failure it means.
async fn raw(resp: Result<reqwest::Response, reqwest::Error>) -> Result<Vec<u8>, SyncError> {
    let resp = resp.map_err(|e| {
        SyncError::new(
            ErrorKind::Connection,
            format!("cannot reach the service: {e}"),
        )
    })?;
    let status = resp.status();
    let bytes = resp.bytes().await.map_err(|e| {
        SyncError::new(
            ErrorKind::Connection,
            format!("the answer was cut off: {e}"),
        )
    })?;
    if status.is_success() {
        return Ok(bytes.to_vec());
    }
    match serde_json::from_slice::<ErrorBody>(&bytes) {
        Ok(body) => Err(SyncError::from_code(body.code, body.message)),
        Err(_) => Err(SyncError::new(
            ErrorKind::Server,
            format!("the service answered {status}"),
        )),
    }
}

impl HttpRemote {
    /// Upload an attachment's bytes (the service checks the hash and the storage limit).
    pub async fn upload(&self, sha256: &str, bytes: Vec<u8>) -> Result<(), SyncError> {
        let req = self
            .http
            .put(self.url(&format!("files/{sha256}")))
            .bearer_auth(&self.token)
            .header("Content-Type", "application/octet-stream")
            .body(bytes);
        raw(req.send().await).await.map(drop)
    }

    /// Download an attachment's bytes.
    pub async fn download(&self, sha256: &str) -> Result<Vec<u8>, SyncError> {
        let req = self
            .http
            .get(self.url(&format!("files/{sha256}")))
            .bearer_auth(&self.token);
        raw(req.send().await).await
    }

    /// Add a line to the service's sync log.
    pub async fn report(&self, line: &SyncReport) -> Result<(), SyncError> {
        let req = self
            .http
            .post(self.url("sync-log"))
            .bearer_auth(&self.token)
            .json(line);
        raw(req.send().await).await.map(drop)
    }

    pub fn device_id(&self) -> &str {
        &self.device_id
    }

    pub fn device_name(&self) -> &str {
        &self.device_name
    }
}

impl refsync_core::sync::files::RemoteFiles<Vec<u8>> for HttpRemote {
    async fn upload(&self, sha256: &str, bytes: &Vec<u8>) -> Result<(), SyncError> {
        HttpRemote::upload(self, sha256, bytes.clone()).await
    }

    async fn download(&self, sha256: &str, _media_type: &str) -> Result<Vec<u8>, SyncError> {
        HttpRemote::download(self, sha256).await
    }

    async fn pause(&self, millis: u64) -> bool {
        tokio::time::sleep(std::time::Duration::from_millis(millis)).await;
        true
    }
}

/// The library's change hints as they arrive (`GET .../events`: server-sent events whose data
/// is a [`Hint`]), for a client that syncs when another device changed the library.
pub struct Hints {
    response: reqwest::Response,
    /// What arrived and is not a whole event yet.
    pending: String,
}

impl HttpRemote {
    /// Open the library's change-hint stream (with a one-use ticket: the session token never
    /// goes into a URL). The first hint is the library's version now.
    pub async fn hints(&self) -> Result<Hints, SyncError> {
        let ticket: StreamTicket = self.send(self.http.post(self.url("events/ticket"))).await?;
        // The stream stays open for as long as the service keeps it: no overall timeout.
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| SyncError::new(ErrorKind::Connection, e.to_string()))?;
        let resp = http
            .get(self.url("events"))
            .query(&[("ticket", ticket.ticket.as_str())])
            .header("Accept", "text/event-stream")
            .send()
            .await
            .map_err(|e| {
                SyncError::new(
                    ErrorKind::Connection,
                    format!("cannot reach the service: {e}"),
                )
            })?;
        if !resp.status().is_success() {
            return Err(raw(Ok(resp))
                .await
                .err()
                .unwrap_or_else(|| SyncError::new(ErrorKind::Server, "the stream was refused")));
        }
        Ok(Hints {
            response: resp,
            pending: String::new(),
        })
    }
}

impl Hints {
    /// The version the library moved to, at the next hint; `None` once the stream has ended
    /// (the service stopped, the session ended, the connection broke): open another.
    pub async fn next(&mut self) -> Option<u64> {
        loop {
            if let Some(end) = self.pending.find("\n\n") {
                let event: String = self.pending.drain(..end + 2).collect();
                let data: String = event
                    .lines()
                    .filter_map(|l| l.strip_prefix("data:"))
                    .map(str::trim)
                    .collect();
                if let Ok(hint) = serde_json::from_str::<Hint>(&data) {
                    return Some(hint.library_version);
                }
                continue; // a comment (keep-alive) or another event
            }
            let chunk = self.response.chunk().await.ok()??;
            self.pending
                .push_str(&String::from_utf8_lossy(&chunk).replace("\r\n", "\n"));
        }
    }
}
