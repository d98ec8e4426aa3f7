//! A network that fails between a client and the real service: a TCP proxy that passes
//! everything through, except requests matching what it is told, for which it carries out the
//! next planned fault: cut the connection before the request reaches the service, or let the
//! request reach the service and lose its answer (the service did the work; the client never
//! hears).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The connection closes before the request reaches the service.
    Cut,
    /// The service gets the request and answers; the answer is lost on the way back.
    LoseAnswer,
}

#[derive(Default)]
struct Plan {
    matching: String,
    faults: VecDeque<Fault>,
}

pub struct Outage {
    pub url: String,
    plan: Arc<Mutex<Plan>>,
}

impl Outage {
    /// A proxy on port 0 in front of `upstream` (`host:port`).
    pub async fn start(upstream: String) -> Outage {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let plan = Arc::new(Mutex::new(Plan::default()));
        let shared = Arc::clone(&plan);
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (plan, upstream) = (Arc::clone(&shared), upstream.clone());
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(&upstream).await else {
                        return;
                    };
                    let (mut client_r, mut client_w) = client.into_split();
                    let (mut server_r, mut server_w) = server.into_split();
                    let swallow = Arc::new(AtomicBool::new(false));
                    let lost = Arc::clone(&swallow);
                    let answers = tokio::spawn(async move {
                        let mut buf = vec![0u8; 64 * 1024];
                        loop {
                            let n = match server_r.read(&mut buf).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => n,
                            };
                            if lost.load(Ordering::SeqCst) {
                                // The answer is dropped and the connection closed.
                                return;
                            }
                            if client_w.write_all(&buf[..n]).await.is_err() {
                                return;
                            }
                        }
                    });
                    let mut buf = vec![0u8; 64 * 1024];
                    loop {
                        let n = match client_r.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        let fault = {
                            let mut p = plan.lock().unwrap();
                            let text = String::from_utf8_lossy(&buf[..n]);
                            if !p.matching.is_empty() && text.contains(&p.matching) {
                                p.faults.pop_front()
                            } else {
                                None
                            }
                        };
                        match fault {
                            Some(Fault::Cut) => {
                                answers.abort();
                                return;
                            }
                            Some(Fault::LoseAnswer) => swallow.store(true, Ordering::SeqCst),
                            None => {}
                        }
                        if server_w.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                    let _ = answers.await;
                });
            }
        });
        Outage { url, plan }
    }

    /// Cut the next `n` connections when a request containing `text` goes out on them.
    pub fn cut(&self, n: usize, text: &str) {
        self.plan(text, vec![Fault::Cut; n]);
    }

    /// Carry out `faults`, one per request containing `text`, in order.
    pub fn plan(&self, text: &str, faults: Vec<Fault>) {
        let mut p = self.plan.lock().unwrap();
        p.matching = text.to_string();
        p.faults = faults.into();
    }

    /// Faults still to come.
    pub fn left(&self) -> usize {
        self.plan.lock().unwrap().faults.len()
    }
}
