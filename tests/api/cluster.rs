//! A throwaway PostgreSQL cluster of the suite's own, for tests that must stop and start a real
//! database server (the shared one on 5432 serves every other test and must stay up).

use std::path::PathBuf;
use std::process::Command;

/// The installed server binaries (`initdb`, `pg_ctl`), newest version first.
fn bin_dir() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").exists())
        .collect();
    dirs.sort();
    dirs.pop()
}

/// Runs a server binary, as the `postgres` user when we are root (PostgreSQL refuses root).
fn run(bin: &std::path::Path, args: &[&str]) -> std::process::Output {
    let is_root = Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    let mut cmd = if is_root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin);
        c
    } else {
        Command::new(bin)
    };
    cmd.args(args).output().unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()))
}

/// A free port for a server that a test stops and starts again on the same port. Chosen below
/// the kernel's ephemeral range: a port from that range (what binding port 0 gives) can be taken
/// by any other socket of the suite, e.g. an outgoing connection, while the server is down.
pub fn port_for_restarts() -> u16 {
    let low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|r| r.split_whitespace().next().and_then(|p| p.parse::<u16>().ok()))
        .unwrap_or(32768);
    let floor = 10_000u16.min(low.saturating_sub(1_000));
    for _ in 0..1_000 {
        let port = floor + rand::random::<u16>() % (low - floor);
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port below {low}");
}

pub struct Cluster {
    dir: PathBuf,
    bin: PathBuf,
    pub port: u16,
}

impl Cluster {
    /// Creates and starts a cluster on a free port in a temporary directory (trust auth, user
    /// `postgres`). Panics with the package to install when the server binaries are missing.
    pub fn start() -> Cluster {
        let bin = bin_dir().expect("PostgreSQL server binaries not found: install the Debian package `postgresql`");
        let dir = std::env::temp_dir().join(format!("mb_pg_{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let _ = Command::new("chown").args(["postgres:postgres", &dir.display().to_string()]).status();
        let data = dir.join("data");
        let out = run(
            &bin.join("initdb"),
            &["-D", &data.display().to_string(), "-U", "postgres", "--auth=trust", "-E", "UTF8"],
        );
        assert!(out.status.success(), "initdb failed: {}", String::from_utf8_lossy(&out.stderr));
        let port = port_for_restarts();
        let cluster = Cluster { dir, bin, port };
        cluster.resume();
        cluster
    }

    /// Leaves the cluster running for the rest of the test run: a watchdog stops it and removes
    /// its directory once process `pid` (the test binary) has exited.
    pub fn keep_until_exit_of(self, pid: u32) {
        let data = self.dir.join("data").display().to_string();
        let pg_ctl = self.bin.join("pg_ctl").display().to_string();
        let is_root = Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"));
        let stop = if is_root {
            format!("runuser -u postgres -- {pg_ctl} -D {data} -m immediate stop")
        } else {
            format!("{pg_ctl} -D {data} -m immediate stop")
        };
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 1; done; {stop} >/dev/null 2>&1; rm -rf {}",
            self.dir.display()
        );
        let _ = Command::new("sh")
            .args(["-c", &script])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
        std::mem::forget(self);
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Stops the server at once (as a crash or an operator would), keeping its data.
    pub fn halt(&self) {
        let data = self.dir.join("data").display().to_string();
        let out = run(&self.bin.join("pg_ctl"), &["-D", &data, "-m", "immediate", "-w", "stop"]);
        assert!(out.status.success(), "pg_ctl stop failed: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// Starts the server again on the same port and data.
    pub fn resume(&self) {
        let data = self.dir.join("data").display().to_string();
        let log = self.dir.join("log").display().to_string();
        let opts = format!("-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off", self.port, self.dir.display());
        let out = run(&self.bin.join("pg_ctl"), &["-D", &data, "-l", &log, "-o", &opts, "-w", "start"]);
        assert!(
            out.status.success(),
            "pg_ctl start failed: {}{}",
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.dir.join("data").display().to_string();
        let _ = run(&self.bin.join("pg_ctl"), &["-D", &data, "-m", "immediate", "stop"]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
