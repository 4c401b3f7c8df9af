//! A deployment in miniature: a real `redis-server` (Debian's package) as
//! the shared state store, and stock nginx round-robining over replicas with
//! no stickiness. Both on 127.0.0.1, started here, killed on drop.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::free_port;

/// `program` on PATH or in the sbin directories Debian installs daemons to.
pub fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/sbin".into(), "/usr/bin".into()])
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// Waits until `port` on loopback accepts connections, for at most 10 s.
fn wait_for_port(port: u16, what: &str) -> anyhow::Result<()> {
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(10),
            "{what} did not listen on {port}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

/// A `redis-server` without persistence on a loopback port.
pub struct RedisServer {
    child: Option<Child>,
    pub port: u16,
}

impl RedisServer {
    pub fn start() -> anyhow::Result<RedisServer> {
        RedisServer::start_on(free_port())
    }

    /// On `port` (a restart keeps the URL replicas were given).
    pub fn start_on(port: u16) -> anyhow::Result<RedisServer> {
        let binary = which("redis-server").ok_or_else(|| {
            anyhow::anyhow!("redis-server is not installed (apt-get install redis-server; tests/install.sh does)")
        })?;
        let child = Command::new(binary)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let mut server = RedisServer {
            child: Some(child),
            port,
        };
        if let Err(e) = wait_for_port(port, "redis-server") {
            server.stop();
            return Err(e);
        }
        Ok(server)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Kills it (a crash, as far as its clients can tell).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Stock nginx round-robin over `backends` (`127.0.0.1:port`), no stickiness.
pub struct Balancer {
    child: Child,
    _dir: tempfile::TempDir,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
}

impl Balancer {
    pub fn start(backends: &[String]) -> anyhow::Result<Balancer> {
        let nginx =
            which("nginx").ok_or_else(|| anyhow::anyhow!("nginx is not installed (apt-get install nginx-light)"))?;
        let dir = tempfile::tempdir()?;
        let port = free_port();
        let servers: String = backends.iter().map(|b| format!("server {b};\n")).collect();
        let prefix = dir.path().display();
        let config = format!(
            "daemon off;\nmaster_process off;\npid {prefix}/nginx.pid;\nerror_log {prefix}/error.log;\n\
             events {{ worker_connections 256; }}\n\
             http {{\n access_log off;\n client_body_temp_path {prefix}/body;\n proxy_temp_path {prefix}/proxy;\n\
             fastcgi_temp_path {prefix}/fastcgi;\n uwsgi_temp_path {prefix}/uwsgi;\n scgi_temp_path {prefix}/scgi;\n\
             upstream replicas {{\n{servers}}}\n\
             server {{\n listen 127.0.0.1:{port};\n location / {{\n proxy_pass http://replicas;\n\
             proxy_http_version 1.1;\n proxy_set_header Host $http_host;\n proxy_set_header Connection \"\";\n\
             proxy_buffering off;\n }}\n }}\n}}\n"
        );
        std::fs::write(dir.path().join("nginx.conf"), config)?;
        let mut child = Command::new(nginx)
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(dir.path().join("nginx.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        if let Err(e) = wait_for_port(port, "nginx") {
            let _ = child.kill();
            return Err(e);
        }
        Ok(Balancer {
            child,
            _dir: dir,
            base: format!("http://127.0.0.1:{port}"),
        })
    }
}

impl Drop for Balancer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
