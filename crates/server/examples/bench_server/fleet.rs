//! Issue 29's service figures: a department's fleet of devices on one service. [`ACCOUNTS`]
//! accounts with [`DEVICES`] devices each hold the account's change-hint stream open (`GET
//! /events`, as the web app does: 1,000 streams), while one device per account (100) syncs a
//! small edit every [`SYNC_EVERY`]: a batch of one write, then the changes since its last sync.
//! Measured: the latency of every batch and changes request (p50, p99), the time from a write
//! being sent to its hint reaching the last of the account's streams, the service's memory per
//! open stream (its resident set before and after the streams open), and every failed request.
//!
//! With two instances on one PostgreSQL the devices are split between them (a write made on
//! one must reach streams held on the other, through LISTEN/NOTIFY), and each instance is
//! killed and started again once during the run: streams reconnect (their first event says
//! where the library is), and no write may go unannounced to any device, nor a hint come twice
//! on one connection.
//!
//! A device's syncs are paced, not flat out: a device syncs when something changed, and 100 of
//! them every quarter second is 400 requests a second, a busy department's whole day of edits
//! in a minute. Throughput flat out is the push/pull figures' business.

use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const ACCOUNTS: usize = 100;
pub const DEVICES: usize = 10;
pub const SYNC_EVERY: Duration = Duration::from_millis(250);
/// References each syncing device edits in turn.
const EDITED: usize = 5;
/// How long the streams stay open after the last write, for its hints to arrive.
const SETTLE: Duration = Duration::from_secs(2);

/// One instance of the service, as the fleet sees it (its address never changes across a
/// restart, so clients reconnect to the same place).
pub struct Instance {
    pub base: String,
    pub pid: u32,
}

/// What a run measured.
#[derive(Default)]
pub struct Outcome {
    pub batch_ms: Vec<f64>,
    pub changes_ms: Vec<f64>,
    /// Per write: to the last of its account's streams.
    pub hint_ms: Vec<f64>,
    /// Per write: to the last of its account's streams held on the other instance.
    pub across_ms: Vec<f64>,
    pub errors: usize,
    /// Requests refused or unanswered while an instance was down (two instances only).
    pub down_errors: usize,
    /// Writes some device never heard of, and hints repeated on one connection.
    pub lost: usize,
    pub doubled: usize,
    pub reconnects: usize,
    pub kb_per_stream: f64,
    pub writes_per_s: f64,
}

struct Device {
    token: String,
    library: String,
}

fn rss_kb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).map(str::to_string))
        })
        .and_then(|kb| kb.parse().ok())
        .unwrap_or(0.0)
}

async fn account(http: &reqwest::Client, base: &str, i: usize) -> Device {
    let (token, library) = crate::new_account(http, base, &format!("fleet{i}@example.org")).await;
    Device { token, library }
}

/// What one stream saw: each event's arrival and version, and where each connection began.
#[derive(Default)]
struct Heard {
    events: Vec<(Instant, u64)>,
    connections: usize,
    doubled: usize,
}

/// Holds the account's stream open on `base` until `stop`, reconnecting whenever it ends;
/// `ready` once its first event came.
async fn listen(
    http: reqwest::Client,
    base: String,
    token: String,
    ready: tokio::sync::mpsc::Sender<()>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> Heard {
    let mut heard = Heard::default();
    let mut ready = Some(ready);
    while !*stop.borrow() {
        let resp = http
            .get(format!("{base}/api/v1/events"))
            .bearer_auth(&token)
            .send()
            .await;
        let Ok(mut resp) = resp.map_err(|_| ()).and_then(|r| {
            if r.status().is_success() {
                Ok(r)
            } else {
                Err(())
            }
        }) else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        heard.connections += 1;
        let mut newest = None;
        let mut text = String::new();
        loop {
            let chunk = tokio::select! {
                c = resp.chunk() => c,
                _ = stop.wait_for(|s| *s) => return heard,
            };
            let Ok(Some(chunk)) = chunk else { break };
            let at = Instant::now();
            text.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = text.find("\n\n") {
                let event: String = text.drain(..end + 2).collect();
                let Some(data) = event.lines().find_map(|l| l.strip_prefix("data:")) else {
                    continue;
                };
                let Some(version) = serde_json::from_str::<Value>(data.trim())
                    .ok()
                    .and_then(|h| h["library_version"].as_u64())
                else {
                    continue;
                };
                if newest.is_some_and(|n| version <= n) {
                    heard.doubled += 1;
                }
                newest = Some(version);
                heard.events.push((at, version));
                if let Some(r) = ready.take() {
                    let _ = r.send(()).await;
                }
            }
        }
    }
    heard
}

/// One write the fleet made: its account, the library version it made, when it was sent and
/// on which instance.
struct Written {
    account: usize,
    version: u64,
    sent: Instant,
    on: usize,
}

/// The JSON answer to `request` sent as the device (`token`, `epoch`), if it succeeded.
async fn answered(request: reqwest::RequestBuilder, token: &str, epoch: &str) -> Option<Value> {
    match request
        .bearer_auth(token)
        .header("x-refsync-epoch", epoch)
        .send()
        .await
    {
        Ok(r) if r.status().is_success() => r.json().await.ok(),
        _ => None,
    }
}

/// One syncing device: a small edit every [`SYNC_EVERY`] until `until`, then its figures.
#[allow(clippy::too_many_arguments)]
async fn sync_loop(
    http: reqwest::Client,
    bases: Vec<String>,
    on: usize,
    account: usize,
    device: Device,
    docs: Vec<Value>,
    until: Instant,
    down: Arc<Mutex<Vec<bool>>>,
) -> (Vec<f64>, Vec<f64>, Vec<Written>, usize, usize) {
    let (mut batch_ms, mut changes_ms, mut written) = (Vec::new(), Vec::new(), Vec::new());
    let (mut errors, mut down_errors) = (0, 0);
    let base = &bases[on];
    let lib = &device.library;
    let epoch = crate::link(&http, base, &device.token, lib, &format!("fleet-{account}"))
        .await
        .to_string();
    let mut versions: HashMap<String, u64> = HashMap::new();
    let (mut since, mut n) = (0u64, 0usize);
    // Spread the devices over the first period, as devices are.
    tokio::time::sleep(SYNC_EVERY.mul_f64(account as f64 / ACCOUNTS as f64)).await;
    let mut next = Instant::now();
    while Instant::now() < until {
        next += SYNC_EVERY;
        let doc = &docs[n % EDITED];
        let key = doc["key"].as_str().unwrap().to_string();
        let mut data = doc.clone();
        data["fields"]["notes"] = json!(format!("edit {n} by device {account}"));
        let body = json!({"idempotency_key": format!("fleet-{account}-{n}"), "writes": [{
            "kind": "reference", "key": key,
            "base_version": versions.get(&key).copied().unwrap_or(0), "data": data}]});
        let was_down = |down: &Arc<Mutex<Vec<bool>>>| down.lock().unwrap()[on];
        let sent = Instant::now();
        let result = answered(
            http.post(format!("{base}/api/v1/libraries/{lib}/batch"))
                .json(&body),
            &device.token,
            &epoch,
        )
        .await;
        match result {
            Some(result) => {
                batch_ms.push(sent.elapsed().as_secs_f64() * 1000.0);
                let version = result["library_version"].as_u64().unwrap_or(0);
                if let Some(v) = result["results"][0]["version"].as_u64() {
                    versions.insert(key, v);
                }
                written.push(Written {
                    account,
                    version,
                    sent,
                    on,
                });
                n += 1;
            }
            // The same batch is sent again next time (the same idempotency key).
            None if was_down(&down) => down_errors += 1,
            None => errors += 1,
        }
        let asked = Instant::now();
        let page = answered(
            http.get(format!(
                "{base}/api/v1/libraries/{lib}/changes?since={since}"
            )),
            &device.token,
            &epoch,
        )
        .await;
        match page {
            Some(page) => {
                changes_ms.push(asked.elapsed().as_secs_f64() * 1000.0);
                since = page["library_version"].as_u64().unwrap_or(since);
            }
            None if was_down(&down) => down_errors += 1,
            None => errors += 1,
        }
        tokio::time::sleep_until(next.into()).await;
    }
    (batch_ms, changes_ms, written, errors, down_errors)
}

/// Runs the fleet for `secs` against `instances` (one, or two on one PostgreSQL); with two,
/// `restart` kills and starts again the instance it is given (by index), keeping its address.
pub async fn run(
    instances: &[Instance],
    docs: &[Value],
    secs: u64,
    restart: Arc<dyn Fn(usize) + Send + Sync>,
) -> Outcome {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(2 * ACCOUNTS)
        .build()
        .unwrap();
    let bases: Vec<String> = instances.iter().map(|i| i.base.clone()).collect();
    let mut devices = Vec::new();
    for i in 0..ACCOUNTS {
        devices.push(account(&http, &bases[i % bases.len()], i).await);
    }
    // One small library per account, made before anything is measured.
    let docs: Vec<Value> = docs[..EDITED].to_vec();

    let (stop, stopping) = tokio::sync::watch::channel(false);
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel(ACCOUNTS * DEVICES);
    let mut streams = Vec::new();
    // Opened in two halves, the service's resident memory read before and after the second:
    // the first half may take memory the sign-ups left free, the second pays for its own.
    let rss = || instances.iter().map(|i| rss_kb(i.pid)).sum::<f64>();
    let mut resident = Vec::new();
    for half in [0..ACCOUNTS / 2, ACCOUNTS / 2..ACCOUNTS] {
        let opened = half.len() * DEVICES;
        resident.push(rss());
        for (a, d) in devices.iter().enumerate().skip(half.start).take(half.len()) {
            for k in 0..DEVICES {
                // Half of each account's devices on each instance, when there are two.
                let on = (a + k) % bases.len();
                streams.push((
                    a,
                    on,
                    tokio::spawn(listen(
                        http.clone(),
                        bases[on].clone(),
                        d.token.clone(),
                        ready_tx.clone(),
                        stopping.clone(),
                    )),
                ));
            }
        }
        for _ in 0..opened {
            ready_rx.recv().await.unwrap();
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let (before, after) = (resident[1], rss());
    eprintln!(
        "resident before the streams {:.0} MB, after half {:.0} MB, after all {:.0} MB",
        resident[0] / 1024.0,
        before / 1024.0,
        after / 1024.0
    );

    let start = Instant::now();
    let until = start + Duration::from_secs(secs);
    let down = Arc::new(Mutex::new(vec![false; bases.len()]));
    let mut syncers = Vec::new();
    for (a, d) in devices.into_iter().enumerate() {
        syncers.push(tokio::spawn(sync_loop(
            http.clone(),
            bases.clone(),
            a % bases.len(),
            a,
            d,
            docs.clone(),
            until,
            down.clone(),
        )));
    }
    if bases.len() > 1 {
        // Each instance killed and started again once, a third and two thirds of the way.
        for which in [1, 0] {
            tokio::time::sleep(Duration::from_secs(secs) / 3).await;
            down.lock().unwrap()[which] = true;
            // Off the runtime's thread: the devices carry on meanwhile.
            let restart = restart.clone();
            tokio::task::spawn_blocking(move || restart(which))
                .await
                .unwrap();
            // Requests refused until it answers count as the restart's, not as errors.
            let health = format!("{}/healthz", bases[which]);
            while !http
                .get(&health)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
            down.lock().unwrap()[which] = false;
        }
    }

    let mut out = Outcome::default();
    let mut written = Vec::new();
    for s in syncers {
        let (b, c, w, e, d) = s.await.unwrap();
        out.batch_ms.extend(b);
        out.changes_ms.extend(c);
        written.extend(w);
        out.errors += e;
        out.down_errors += d;
    }
    out.writes_per_s = written.len() as f64 / secs as f64;
    tokio::time::sleep(SETTLE).await;
    stop.send_replace(true);
    let mut heard: Vec<(usize, usize, Heard)> = Vec::new();
    for (a, on, s) in streams {
        heard.push((a, on, s.await.unwrap()));
    }
    out.kb_per_stream = (after - before) / (ACCOUNTS - ACCOUNTS / 2) as f64 / DEVICES as f64;
    for (_, _, h) in &heard {
        out.doubled += h.doubled;
        out.reconnects += h.connections.saturating_sub(1);
    }
    let mut by_account: HashMap<usize, Vec<(usize, &Heard)>> = HashMap::new();
    for (a, on, h) in &heard {
        by_account.entry(*a).or_default().push((*on, h));
    }
    for w in &written {
        let (mut last, mut last_across) = (None::<Duration>, None::<Duration>);
        for (on, h) in &by_account[&w.account] {
            // Versions only grow: the first event at or past the write's version announces it.
            match h.events.iter().find(|(_, v)| *v >= w.version) {
                Some((at, _)) => {
                    let took = at.saturating_duration_since(w.sent);
                    last = last.max(Some(took));
                    if *on != w.on {
                        last_across = last_across.max(Some(took));
                    }
                }
                None => out.lost += 1,
            }
        }
        if let Some(t) = last {
            out.hint_ms.push(t.as_secs_f64() * 1000.0);
        }
        if let Some(t) = last_across {
            out.across_ms.push(t.as_secs_f64() * 1000.0);
        }
    }
    out
}

/// The `p`th percentile (0–100) of `xs`, nearest rank.
pub fn percentile(xs: &[f64], p: f64) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1]
}
