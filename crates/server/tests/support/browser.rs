//! Headless Chromium for tests, driven over WebDriver (chromedriver +
//! fantoccini).
//!
//! ```ignore
//! let Some(browser) = Browser::start_or_skip("my_test").await else { return };
//! browser.goto(&url).await;
//! browser.wait_until("document.readyState === 'complete'", "page load").await;
//! let n = browser.eval("return 1 + 1", vec![]).await;
//! browser.screenshot("my-test").await; // target/my-test.png
//! browser.close().await;
//! ```
//!
//! Binaries: chromedriver is `$RINGPORT_CHROMEDRIVER`, else `chromedriver`
//! on `PATH`, else `/usr/bin/chromedriver`; Chromium is `$RINGPORT_CHROMIUM`,
//! else `chromium`/`chromium-browser`/`google-chrome` on `PATH`, else
//! `/usr/bin/chromium` (Debian: `apt-get install chromium chromium-driver`).
//! When one is missing, [`Browser::start_or_skip`] prints a loud `SKIPPED`
//! line and returns `None`, unless `RINGPORT_REQUIRE_BROWSER=1`, which turns
//! the skip into a failure (for CI, where the browser must be there).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};

/// Chromium flags: headless, and fit for a container run as root.
pub const CHROMIUM_ARGS: &[&str] = &[
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--force-device-scale-factor=1",
    "--lang=en-US",
    "--window-size=1280,800",
];

/// How long the `wait_*` helpers wait by default.
pub const WAIT: Duration = Duration::from_secs(10);

/// A chromedriver process and one browser session on it. Call
/// [`Browser::close`] at the end; dropping it kills chromedriver and the
/// browser it started (its process group) without ending the session.
pub struct Browser {
    /// The WebDriver session, for anything the helpers do not cover.
    pub client: Client,
    driver: Option<Child>,
    /// Chromium's profile directory (`--user-data-dir`), removed when the
    /// browser is dropped. Without it chromedriver makes one under /tmp
    /// that outlives a killed browser: about 3 MiB a session, every run.
    _profile: tempfile::TempDir,
}

/// The chromedriver and Chromium binaries, when both are installed.
#[derive(Debug, Clone)]
pub struct Binaries {
    pub chromedriver: PathBuf,
    pub chromium: PathBuf,
}

impl Binaries {
    /// Finds both binaries, or says which is missing.
    pub fn find() -> Result<Binaries, String> {
        let chromedriver = find_binary(
            "RINGPORT_CHROMEDRIVER",
            &["chromedriver"],
            "/usr/bin/chromedriver",
        )
        .ok_or("chromedriver not found")?;
        let chromium = find_binary(
            "RINGPORT_CHROMIUM",
            &["chromium", "chromium-browser", "google-chrome"],
            "/usr/bin/chromium",
        )
        .ok_or("chromium not found")?;
        Ok(Binaries {
            chromedriver,
            chromium,
        })
    }
}

/// `$var` if set (a missing file there means "absent"), else the first of
/// `names` on `PATH`, else `fallback` if it exists.
fn find_binary(var: &str, names: &[&str], fallback: &str) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(var) {
        let path = PathBuf::from(path);
        return is_executable(&path).then_some(path);
    }
    let path_var = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path_var) {
        for name in names {
            let candidate = dir.join(name);
            if is_executable(&candidate) {
                return Some(candidate);
            }
        }
    }
    let fallback = PathBuf::from(fallback);
    is_executable(&fallback).then_some(fallback)
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Whether a missing browser must fail the test (`RINGPORT_REQUIRE_BROWSER=1`).
pub fn browser_required() -> bool {
    std::env::var("RINGPORT_REQUIRE_BROWSER").is_ok_and(|v| v == "1")
}

/// The workspace's `target` directory (`$CARGO_TARGET_DIR` if set).
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"),
    }
}

impl Browser {
    /// Starts chromedriver and a headless Chromium session, or returns `None`
    /// after printing `SKIPPED: <test>: ...` to stderr when either binary is
    /// missing (a panic instead with `RINGPORT_REQUIRE_BROWSER=1`). A browser
    /// that is installed but fails to start is a panic.
    pub async fn start_or_skip(test: &str) -> Option<Browser> {
        Browser::start_or_skip_with(test, &[]).await
    }

    /// [`Browser::start_or_skip`] with more Chromium arguments (e.g.
    /// `--ignore-certificate-errors-spki-list=HASH` to trust a test
    /// certificate).
    pub async fn start_or_skip_with(test: &str, extra_args: &[String]) -> Option<Browser> {
        match Binaries::find() {
            Ok(bins) => Some(Browser::start(&bins, extra_args).await),
            Err(why) => {
                let line = format!(
                    "SKIPPED: {test}: {why} (install chromium chromium-driver; \
                     RINGPORT_REQUIRE_BROWSER=1 makes this a failure)"
                );
                if browser_required() {
                    panic!("RINGPORT_REQUIRE_BROWSER=1 but {line}");
                }
                // Straight to fd 2: libtest captures eprintln! of passing tests.
                let bar = "=".repeat(72);
                let _ = writeln!(std::io::stderr(), "\n{bar}\n{line}\n{bar}\n");
                None
            }
        }
    }

    /// Starts chromedriver on a free loopback port and opens a session.
    pub async fn start(bins: &Binaries, extra_args: &[String]) -> Browser {
        let mut last_error = String::new();
        // A free port can be taken between probing and chromedriver binding
        // it: try a few.
        for _ in 0..3 {
            let (driver, port) = match spawn_driver(&bins.chromedriver) {
                Ok(started) => started,
                Err(e) => {
                    last_error = e;
                    continue;
                }
            };
            let profile = tempfile::tempdir()
                .unwrap_or_else(|e| panic!("cannot make a profile directory for Chromium: {e}"));
            let mut args = extra_args.to_vec();
            args.push(format!("--user-data-dir={}", profile.path().display()));
            let browser = Browser {
                _profile: profile,
                client: match connect(bins, port, &args).await {
                    Ok(client) => client,
                    Err(e) => {
                        kill_group(driver);
                        last_error = e;
                        continue;
                    }
                },
                driver: Some(driver),
            };
            // Headless windows ignore --window-size in some versions.
            browser.set_window_size(1280, 800).await;
            return browser;
        }
        panic!("could not start headless Chromium via chromedriver: {last_error}");
    }

    /// Navigates to `url` and waits for the document to load.
    pub async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("goto {url}: {e}"));
    }

    /// Runs `script` as a function body (`arguments` holds `args`) and returns
    /// its `return` value as JSON. A JS exception is a panic.
    pub async fn eval(&self, script: &str, args: Vec<Value>) -> Value {
        self.client
            .execute(script, args)
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n--- script:\n{script}"))
    }

    /// Polls the JS expression `condition` until it is truthy; panics after
    /// [`WAIT`] naming `what` and the page's `#status` text.
    pub async fn wait_until(&self, condition: &str, what: &str) {
        self.wait_until_for(condition, what, WAIT).await;
    }

    /// [`Self::wait_until`] with a timeout.
    pub async fn wait_until_for(&self, condition: &str, what: &str, timeout: Duration) {
        let script = format!("return !!({condition});");
        let deadline = Instant::now() + timeout;
        loop {
            if self.eval(&script, vec![]).await == Value::Bool(true) {
                return;
            }
            if Instant::now() > deadline {
                let status = self
                    .eval(
                        "const s = document.getElementById('status'); return s ? s.textContent : null;",
                        vec![],
                    )
                    .await;
                panic!("timed out after {timeout:?} waiting for {what} ({condition}); #status: {status}");
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// The visible text of the first element matching `css`.
    pub async fn text(&self, css: &str) -> String {
        self.find(css)
            .await
            .text()
            .await
            .unwrap_or_else(|e| panic!("text of {css}: {e}"))
    }

    /// Clicks the first element matching `css`.
    pub async fn click(&self, css: &str) {
        self.find(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    /// Clears the input matching `css` and types `text` (a "\n" presses
    /// Enter). ChromeDriver types only characters of the BMP (no emoji).
    pub async fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css).await;
        element
            .clear()
            .await
            .unwrap_or_else(|e| panic!("clear {css}: {e}"));
        element
            .send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("type into {css}: {e}"));
    }

    /// The first element matching `css`, waiting for it to exist.
    pub async fn find(&self, css: &str) -> fantoccini::elements::Element {
        let deadline = Instant::now() + WAIT;
        loop {
            match self.client.find(Locator::Css(css)).await {
                Ok(element) => return element,
                Err(e) if Instant::now() > deadline => panic!("find {css}: {e}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(25)).await,
            }
        }
    }

    /// Resizes the browser window (CSS pixels, scale factor 1).
    pub async fn set_window_size(&self, width: u32, height: u32) {
        self.client
            .set_window_size(width, height)
            .await
            .unwrap_or_else(|e| panic!("set window size {width}x{height}: {e}"));
    }

    /// Saves a PNG screenshot of the viewport as `target/<name>.png` and
    /// returns its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self
            .client
            .screenshot()
            .await
            .unwrap_or_else(|e| panic!("screenshot: {e}"));
        let path = target_dir().join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        eprintln!("screenshot: {}", path.display());
        path
    }

    /// Ends the session (Chromium exits), then stops chromedriver.
    pub async fn close(mut self) {
        let client = self.client.clone();
        if let Err(e) = client.close().await {
            eprintln!("closing the browser session: {e}");
        }
        if let Some(driver) = self.driver.take() {
            kill_group(driver);
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(driver) = self.driver.take() {
            kill_group(driver);
        }
    }
}

/// Spawns chromedriver in a process group of its own (so that the browser it
/// starts can be stopped with it) on a free port; waits for its ready line.
fn spawn_driver(chromedriver: &Path) -> Result<(Child, u16), String> {
    use std::os::unix::process::CommandExt;
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("no free port: {e}"))?
        .port();
    let mut child = Command::new(chromedriver)
        .arg(format!("--port={port}"))
        .arg("--allowed-ips=127.0.0.1")
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("spawn {}: {e}", chromedriver.display()))?;
    let stdout = child.stdout.take().expect("stdout is piped");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut ready = Some(tx);
        // Keep draining after the ready line so chromedriver never blocks.
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.contains("started successfully") {
                if let Some(tx) = ready.take() {
                    let _ = tx.send(());
                }
            }
        }
    });
    match rx.recv_timeout(Duration::from_secs(20)) {
        Ok(()) => Ok((child, port)),
        Err(_) => {
            let status = child.try_wait().ok().flatten();
            kill_group(child);
            Err(format!(
                "chromedriver on port {port} did not start (exit status: {status:?})"
            ))
        }
    }
}

/// Opens a WebDriver session for headless Chromium.
async fn connect(bins: &Binaries, port: u16, extra_args: &[String]) -> Result<Client, String> {
    let args: Vec<&str> = CHROMIUM_ARGS
        .iter()
        .copied()
        .chain(extra_args.iter().map(String::as_str))
        .collect();
    let caps = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": bins.chromium,
            "args": args,
        },
    });
    let Value::Object(caps) = caps else {
        unreachable!("json! of an object is an object")
    };
    ClientBuilder::new(HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .map_err(|e| format!("new session: {e}"))
}

/// Kills chromedriver's process group (chromedriver and the browser it
/// started, which stay in its group), then reaps chromedriver.
fn kill_group(mut driver: Child) {
    let pgid = driver.id();
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{pgid}")])
        .stderr(Stdio::null())
        .status();
    let _ = driver.kill();
    let _ = driver.wait();
}
