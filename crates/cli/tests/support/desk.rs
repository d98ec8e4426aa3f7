//! Driving the `refsync` binary as a person would, each desktop in a temp folder of its own
//! (library, config and home): shared by the CLI's tests and the end-to-end tests, which
//! include this file by path and give it the binary to run.

use std::path::PathBuf;
use std::process::Output;

/// The password every test account is made with.
pub const PASSWORD: &str = "correct horse battery";

/// One desktop: a library file and a config file in a temp folder of its own.
pub struct Desk {
    pub dir: tempfile::TempDir,
    bin: PathBuf,
}

impl Desk {
    pub fn new(bin: PathBuf) -> Desk {
        Desk {
            dir: tempfile::tempdir().expect("a temp folder"),
            bin,
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Run `refsync args`, answering a sign-in with [`PASSWORD`].
    pub async fn run(&self, args: &[&str]) -> Output {
        self.run_with_password(args, PASSWORD).await
    }

    pub async fn run_with_password(&self, args: &[&str], password: &str) -> Output {
        tokio::process::Command::new(&self.bin)
            .args(args)
            .env("REFSYNC_LIBRARY", self.path("library.refsync"))
            .env("REFSYNC_CONFIG", self.path("config.json"))
            .env("REFSYNC_PASSWORD", password)
            .env("HOME", self.dir.path())
            .stdin(std::process::Stdio::null())
            .output()
            .await
            .expect("run refsync")
    }

    /// Start `refsync args` and leave it running (its output piped; killed when dropped).
    pub fn spawn(&self, args: &[&str]) -> tokio::process::Child {
        tokio::process::Command::new(&self.bin)
            .args(args)
            .env("REFSYNC_LIBRARY", self.path("library.refsync"))
            .env("REFSYNC_CONFIG", self.path("config.json"))
            .env("REFSYNC_PASSWORD", PASSWORD)
            .env("HOME", self.dir.path())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start refsync")
    }

    /// Run a command that must succeed; its standard output.
    pub async fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args).await;
        assert!(
            out.status.success(),
            "refsync {args:?} failed ({:?}):\n{}\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    }

    /// Run a command that must fail with `code`; its standard error.
    pub async fn fails(&self, args: &[&str], code: i32) -> String {
        let out = self.run(args).await;
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        assert_eq!(
            out.status.code(),
            Some(code),
            "refsync {args:?}: {}\n{err}",
            String::from_utf8_lossy(&out.stdout)
        );
        err
    }

    /// The references `list --json` gives (sorted by title), with `extra` options.
    pub async fn list(&self, extra: &[&str]) -> Vec<serde_json::Value> {
        let mut args = vec!["list", "--json", "--sort", "title"];
        args.extend_from_slice(extra);
        let json: serde_json::Value =
            serde_json::from_str(&self.ok(&args).await).expect("list --json is JSON");
        json.as_array().cloned().unwrap_or_default()
    }

    /// The titles `list` shows, A to Z.
    pub async fn titles(&self, extra: &[&str]) -> Vec<String> {
        self.list(extra)
            .await
            .iter()
            .map(|r| r["fields"]["title"].as_str().unwrap_or("").to_string())
            .collect()
    }

    /// The key of the one reference titled `title`.
    pub async fn key_of(&self, title: &str) -> String {
        self.key_of_in(&[], title).await
    }

    /// [`Desk::key_of`] with `extra` options (`--shared NAME`, `--trash`).
    pub async fn key_of_in(&self, extra: &[&str], title: &str) -> String {
        let hits: Vec<String> = self
            .list(extra)
            .await
            .iter()
            .filter(|r| r["fields"]["title"] == title)
            .filter_map(|r| r["key"].as_str().map(str::to_string))
            .collect();
        assert_eq!(hits.len(), 1, "one reference titled {title}: {hits:?}");
        hits[0].clone()
    }
}
