//! A private `redis-server` for tests: a free loopback port, a folder of its
//! own, stopped (SIGKILL) when dropped. It can be killed and started again on
//! the same port, to test an outage. Needs the `redis-server` binary (Debian
//! package `redis-server`; scripts/test.sh installs it).

use std::io;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::accounts::keys::random_base62;

/// Set by scripts/test.sh to the instance it started for the whole run.
pub const SHARED_URL_ENV: &str = "MWS_TEST_REDIS_URL";

/// `redis-server` on the PATH (or where `MWS_REDIS_SERVER` points).
pub fn binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("MWS_REDIS_SERVER") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("redis-server"))
        .find(|p| p.is_file())
}

#[derive(Debug)]
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
    /// Append-only file with an fsync per write: a SIGKILL loses nothing.
    persistent: bool,
}

fn free_port() -> io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

impl RedisServer {
    /// Starts a server on a free port; `persistent` keeps its data across
    /// `kill` and `restart`.
    pub async fn start(persistent: bool) -> io::Result<RedisServer> {
        let dir = std::env::temp_dir().join(format!("mws-redis-{}", random_base62(12)));
        std::fs::create_dir_all(&dir)?;
        let mut last = io::Error::other("no attempt");
        // Another process may take the port between probe and bind: retry.
        for _ in 0..5 {
            let mut server = RedisServer {
                child: None,
                port: free_port()?,
                dir: dir.clone(),
                persistent,
            };
            match server.launch().await {
                Ok(()) => return Ok(server),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    async fn launch(&mut self) -> io::Result<()> {
        let bin = binary().ok_or_else(|| io::Error::other("redis-server is not installed"))?;
        let aof = if self.persistent { "yes" } else { "no" };
        let child = Command::new(bin)
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", aof, "--appendfsync", "always"])
            .arg("--dir")
            .arg(&self.dir)
            .args(["--logfile", "redis.log", "--daemonize", "no"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Some(Some(status)) = self.child.as_mut().map(|c| c.try_wait()).transpose()? {
                self.child = None;
                return Err(io::Error::other(format!(
                    "redis-server exited with {status}; see {}",
                    self.dir.join("redis.log").display()
                )));
            }
            if ping(self.port).await {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.kill();
        Err(io::Error::other(
            "redis-server did not answer PING within 10s",
        ))
    }

    /// SIGKILL, as a crash or an unplugged cable would end it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port (and, when persistent, with
    /// the data it had).
    pub async fn restart(&mut self) -> io::Result<()> {
        self.kill();
        self.launch().await
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Whether a server on `port` answers PING with PONG (not LOADING).
async fn ping(port: u16) -> bool {
    let attempt = async {
        let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
        s.write_all(b"PING\r\n").await?;
        let mut buf = [0u8; 64];
        let n = s.read(&mut buf).await?;
        io::Result::Ok(buf[..n].starts_with(b"+PONG"))
    };
    matches!(
        tokio::time::timeout(Duration::from_secs(1), attempt).await,
        Ok(Ok(true))
    )
}

/// A Redis for one test: the shared instance of the test run when
/// `MWS_TEST_REDIS_URL` is set (and the test does not need its own), else a
/// private server; each with a key prefix of its own, so tests never see
/// each other's data.
#[derive(Debug)]
pub struct TestRedis {
    pub url: String,
    pub prefix: String,
    /// The private server, when this test has one.
    pub server: Option<RedisServer>,
}

impl TestRedis {
    /// `None` when there is no redis-server to test against: the caller skips,
    /// loudly, or fails under CI (see `required`).
    pub async fn get(private: bool) -> io::Result<Option<TestRedis>> {
        let prefix = format!("mwstest:{}:", random_base62(10));
        if !private {
            if let Ok(url) = std::env::var(SHARED_URL_ENV) {
                if !url.is_empty() {
                    return Ok(Some(TestRedis {
                        url,
                        prefix,
                        server: None,
                    }));
                }
            }
        }
        if binary().is_none() {
            return Ok(None);
        }
        let server = RedisServer::start(private).await?;
        Ok(Some(TestRedis {
            url: server.url(),
            prefix,
            server: Some(server),
        }))
    }

    /// Whether a missing redis-server must fail the test: under CI it must be
    /// there (scripts/test.sh installs it).
    pub fn required() -> bool {
        std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
    }

    /// Waits (up to 5 s) until `n` store instances listen for changes under
    /// this prefix, so a test of how fast a change travels does not time the
    /// start of a subscription.
    pub async fn wait_for_subscribers(&self, n: u64) -> redis::RedisResult<()> {
        let mut c = redis::Client::open(self.url.as_str())?
            .get_multiplexed_async_connection()
            .await?;
        let channel = format!("{}changes", self.prefix);
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let (_, count): (String, u64) = redis::cmd("PUBSUB")
                .arg("NUMSUB")
                .arg(&channel)
                .query_async(&mut c)
                .await?;
            if count >= n || Instant::now() > deadline {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// A `[store]` table for this Redis.
    pub fn store_toml(&self) -> String {
        format!(
            "[store]\nkind = \"redis\"\nurl = \"{}\"\nkey_prefix = \"{}\"\n",
            self.url, self.prefix
        )
    }
}
