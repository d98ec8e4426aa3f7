//! The service's sharing calls (docs/sharing.md): the libraries an account can open, making
//! one, its members and invitations, roles, leaving, handing over, deleting, and its activity.
//!
//! Invariant: each call is one request with the session's token; every answer the service
//! refuses comes back as the matching [`SyncError`] (a viewer's manage call is `forbidden`,
//! a library the account left is `not_found`), never as a panic or a guess.

use super::{send, send_raw, url, with_json};
use gloo_net::http::{Request, RequestBuilder};
use refsync_core::protocol::{
    Activity, Invitation, Invitations, Invite, Libraries, LibraryName, LibrarySummary, Member,
    Members, Role, SetRole, Transfer,
};
use refsync_core::sync::SyncError;

fn signed(req: RequestBuilder, token: &str) -> RequestBuilder {
    req.header("Authorization", &format!("Bearer {token}"))
}

fn lib_path(library: &str, rest: &str) -> String {
    url(&format!("/libraries/{library}{rest}"))
}

/// Every library the account can open: its own first, then the shared ones.
pub async fn libraries(token: &str) -> Result<Vec<LibrarySummary>, SyncError> {
    send::<Libraries>(signed(Request::get(&url("/libraries")), token).build())
        .await
        .map(|l| l.libraries)
}

/// A new, empty shared library owned by the account.
pub async fn create_library(token: &str, name: &str) -> Result<LibrarySummary, SyncError> {
    let body = LibraryName {
        name: name.to_string(),
    };
    send(with_json(
        signed(Request::post(&url("/libraries")), token),
        &body,
    ))
    .await
}

/// Delete a shared library for every member (its owner only).
pub async fn delete_library(token: &str, library: &str) -> Result<(), SyncError> {
    send_raw(signed(Request::delete(&lib_path(library, "")), token).build())
        .await
        .map(drop)
}

pub async fn members(token: &str, library: &str) -> Result<Vec<Member>, SyncError> {
    send::<Members>(signed(Request::get(&lib_path(library, "/members")), token).build())
        .await
        .map(|m| m.members)
}

/// Another role for a member (the owner only).
pub async fn set_role(
    token: &str,
    library: &str,
    account: &str,
    role: Role,
) -> Result<(), SyncError> {
    let req = signed(
        Request::put(&lib_path(library, &format!("/members/{account}"))),
        token,
    );
    send_raw(with_json(req, &SetRole { role })).await.map(drop)
}

/// Remove a member (the owner), or leave (one's own account).
pub async fn remove_member(token: &str, library: &str, account: &str) -> Result<(), SyncError> {
    let req = signed(
        Request::delete(&lib_path(library, &format!("/members/{account}"))),
        token,
    );
    send_raw(req.build()).await.map(drop)
}

/// Hand the library to another member, who becomes its owner (the old owner an editor).
pub async fn transfer(token: &str, library: &str, account: &str) -> Result<(), SyncError> {
    let body = Transfer {
        account_id: account.to_string(),
    };
    send_raw(with_json(
        signed(Request::post(&lib_path(library, "/transfer")), token),
        &body,
    ))
    .await
    .map(drop)
}

/// Invite `email` with `role` (the owner only).
pub async fn invite(
    token: &str,
    library: &str,
    email: &str,
    role: Role,
) -> Result<Invitation, SyncError> {
    let body = Invite {
        email: email.to_string(),
        role,
        expires_in_days: None,
    };
    send(with_json(
        signed(Request::post(&lib_path(library, "/invitations")), token),
        &body,
    ))
    .await
}

/// A library's pending invitations (its owner only).
pub async fn invitations_of(token: &str, library: &str) -> Result<Vec<Invitation>, SyncError> {
    send::<Invitations>(signed(Request::get(&lib_path(library, "/invitations")), token).build())
        .await
        .map(|i| i.invitations)
}

/// Take back an invitation not answered yet.
pub async fn revoke(token: &str, library: &str, invitation: &str) -> Result<(), SyncError> {
    let req = signed(
        Request::delete(&lib_path(library, &format!("/invitations/{invitation}"))),
        token,
    );
    send_raw(req.build()).await.map(drop)
}

/// The pending invitations addressed to the account.
pub async fn invitations(token: &str) -> Result<Vec<Invitation>, SyncError> {
    send::<Invitations>(signed(Request::get(&url("/invitations")), token).build())
        .await
        .map(|i| i.invitations)
}

/// Accept an invitation (the library it opens) or decline it (`None`).
pub async fn answer(
    token: &str,
    invitation: &str,
    accept: bool,
) -> Result<Option<LibrarySummary>, SyncError> {
    let verb = if accept { "accept" } else { "decline" };
    let req = signed(
        Request::post(&url(&format!("/invitations/{invitation}/{verb}"))),
        token,
    )
    .build();
    if accept {
        send(req).await.map(Some)
    } else {
        send_raw(req).await.map(|_| None)
    }
}

/// A page of the library's latest changes, newest first; `before` is the last page's `next`.
pub async fn activity(
    token: &str,
    library: &str,
    before: Option<&str>,
    limit: usize,
) -> Result<Activity, SyncError> {
    let limit = limit.to_string();
    let mut query = vec![("limit", limit.as_str())];
    if let Some(b) = before {
        query.push(("before", b));
    }
    send(
        signed(Request::get(&lib_path(library, "/activity")), token)
            .query(query)
            .build(),
    )
    .await
}
