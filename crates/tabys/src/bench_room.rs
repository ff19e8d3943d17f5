//! `tabys bench room`: one webinar room under load. It opens N WebSocket
//! participants on 127.0.0.1 (spreading them over several loopback
//! addresses when ports run short), sends chat at a given rate through
//! them, and measures each delivery's latency from the server's receipt
//! (the `rx` stamp, µs of the wall clock, carried in the frame) to the
//! client's receipt, deliveries per second, lost and reordered messages,
//! and the server's memory (the largest resident size seen in
//! `/proc/<pid>/status`). It ends with one line:
//!
//! `RESULT room participants=<n> deliveries_per_s=<n> p50_ms=<n> p99_ms=<n> lost=<n> reordered=<n> server_rss_mb=<n>`
//!
//! Without `--target` it starts the server itself — this binary's `serve`
//! on a fresh SQLite database with one open room, or with
//! `--protocol socketio` the socket.io server under `bench/socketio/` — so
//! both are driven by the same generator in one run. Each process needs a
//! file descriptor per participant: the generator raises its own limit to
//! the hard limit (`ulimit -n` shows it; raise it with `ulimit -Hn` as
//! root) and the server it starts inherits it.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures_util::{SinkExt, StreamExt};
use tabys_accounts::organizers::ProfileInput;
use tabys_accounts::users::{self, NewUser};
use tabys_core::email::Email;
use tabys_core::locale::Locale;
use tabys_core::{Clock, SystemClock};
use tabys_live::rooms::{self, RoomInput};
use tabys_live::webinars::{self, WebinarInput};
use tabys_store::Db;
use tokio::net::TcpSocket;
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

#[derive(clap::Args)]
pub struct RoomArgs {
    /// Participants in the room.
    #[arg(long, default_value_t = 1000)]
    pub participants: usize,
    /// Chat messages sent into the room per second (each goes to everyone).
    #[arg(long, default_value_t = 20)]
    pub rate: u64,
    /// How long to send, after everyone has joined.
    #[arg(long, default_value_t = 20)]
    pub seconds: u64,
    /// Drive a server already running: the room socket's address, e.g.
    /// `ws://10.0.0.5:8080/live/w/1/ws?name=bench` (tabys; an open room) or
    /// `ws://10.0.0.5:3000/socket.io/?EIO=4&transport=websocket` (socket.io).
    #[arg(long)]
    pub target: Option<String>,
    /// `tabys` or `socketio`.
    #[arg(long, default_value = "tabys")]
    pub protocol: String,
    /// With `--target`: the server's process id, to read its memory.
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// The socket.io server to start for `--protocol socketio`.
    #[arg(long, default_value = "bench/socketio/server.js")]
    pub socketio_server: PathBuf,
    /// Participants connecting at the same moment.
    #[arg(long, default_value_t = 256)]
    pub connect_batch: usize,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Protocol {
    Tabys,
    SocketIo,
}

/// Latencies in 0.1 ms steps up to 30 s.
struct Histogram {
    buckets: Vec<AtomicU64>,
    max_us: AtomicU64,
}

const STEP_US: u64 = 100;

impl Histogram {
    fn new() -> Self {
        Self {
            buckets: (0..=300_000).map(|_| AtomicU64::new(0)).collect(),
            max_us: AtomicU64::new(0),
        }
    }

    fn add(&self, us: u64) {
        let i = ((us / STEP_US) as usize).min(self.buckets.len() - 1);
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
        self.max_us.fetch_max(us, Ordering::Relaxed);
    }

    fn count(&self) -> u64 {
        self.buckets.iter().map(|b| b.load(Ordering::Relaxed)).sum()
    }

    /// The latency below which `q` of the deliveries fell, in ms.
    fn quantile_ms(&self, q: f64) -> f64 {
        let total = self.count();
        if total == 0 {
            return 0.0;
        }
        let want = ((total as f64) * q).ceil() as u64;
        let mut seen = 0;
        for (i, b) in self.buckets.iter().enumerate() {
            seen += b.load(Ordering::Relaxed);
            if seen >= want {
                return ((i as u64 + 1) * STEP_US) as f64 / 1000.0;
            }
        }
        self.max_us.load(Ordering::Relaxed) as f64 / 1000.0
    }
}

/// What every participant task shares.
struct Shared {
    protocol: Protocol,
    histogram: Histogram,
    /// Which bench messages anyone received, by number.
    seen: Vec<AtomicBool>,
    connected: AtomicUsize,
    failed: AtomicUsize,
    /// Deliveries counted only while measuring.
    measuring: AtomicBool,
}

/// What one participant saw.
#[derive(Default)]
struct Outcome {
    connected: bool,
    received: u64,
    reordered: u64,
    /// Dropped by the server (told to resync) or disconnected mid-run.
    dropped: bool,
}

fn now_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

pub async fn run(args: RoomArgs) -> anyhow::Result<()> {
    let protocol = match args.protocol.as_str() {
        "tabys" => Protocol::Tabys,
        "socketio" => Protocol::SocketIo,
        other => bail!("--protocol must be tabys or socketio, not {other}"),
    };
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) if (n as usize) < args.participants + 100 => eprintln!(
            "warning: only {n} file descriptors per process; raise the hard limit (ulimit -Hn) for {} participants",
            args.participants
        ),
        Ok(_) => {}
        Err(e) => eprintln!("warning: cannot raise the file limit: {e}"),
    }
    let (url, mut server) = match (&args.target, protocol) {
        (Some(t), _) => (t.clone(), None),
        (None, Protocol::Tabys) => {
            let (url, child) = start_tabys().await?;
            (url, Some(child))
        }
        (None, Protocol::SocketIo) => {
            let (url, child) = start_socketio(&args.socketio_server).await?;
            (url, Some(child))
        }
    };
    let pid = server.as_ref().and_then(|c| c.id()).or(args.server_pid);
    let outcome = drive(&args, protocol, &url, pid).await;
    if let Some(child) = server.as_mut() {
        let _ = child.kill().await;
    }
    outcome
}

async fn drive(
    args: &RoomArgs,
    protocol: Protocol,
    url: &str,
    pid: Option<u32>,
) -> anyhow::Result<()> {
    let capacity = (args.rate * args.seconds * 2 + 100) as usize;
    let shared = Arc::new(Shared {
        protocol,
        histogram: Histogram::new(),
        seen: (0..capacity).map(|_| AtomicBool::new(false)).collect(),
        connected: AtomicUsize::new(0),
        failed: AtomicUsize::new(0),
        measuring: AtomicBool::new(false),
    });
    let (stop_tx, stop) = watch::channel(false);
    let mut senders = Vec::with_capacity(args.participants);
    let mut tasks = Vec::with_capacity(args.participants);
    let started = Instant::now();
    let rss_peak = Arc::new(AtomicU64::new(0));
    let sampler = pid.map(|pid| {
        let peak = rss_peak.clone();
        let mut stop = stop.clone();
        tokio::spawn(async move {
            loop {
                if let Some(kb) = rss_kb(pid) {
                    peak.fetch_max(kb, Ordering::Relaxed);
                }
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                    _ = stop.changed() => return,
                }
            }
        })
    });
    for batch in (0..args.participants)
        .collect::<Vec<_>>()
        .chunks(args.connect_batch.max(1))
    {
        let (ready_tx, mut ready_rx) = mpsc::channel::<()>(batch.len());
        for &i in batch {
            let (tx, rx) = mpsc::channel::<String>(16);
            senders.push(tx);
            tasks.push(tokio::spawn(participant(
                i,
                url.to_string(),
                shared.clone(),
                rx,
                stop.clone(),
                ready_tx.clone(),
            )));
        }
        drop(ready_tx);
        while ready_rx.recv().await.is_some() {}
    }
    let connected = shared.connected.load(Ordering::Relaxed);
    eprintln!(
        "{connected} participants joined in {:.1} s ({} failed)",
        started.elapsed().as_secs_f64(),
        shared.failed.load(Ordering::Relaxed)
    );
    if connected == 0 {
        let _ = stop_tx.send(true);
        bail!("no participant could join {url}");
    }
    // Let the count frames of the joins settle before measuring.
    tokio::time::sleep(Duration::from_secs(2)).await;
    shared.measuring.store(true, Ordering::Relaxed);
    let cpu_before = (cpu_seconds(std::process::id()), pid.and_then(cpu_seconds));
    let measuring = Instant::now();
    let sent = generate(args, protocol, &senders).await;
    // What is in flight arrives: wait until deliveries stop growing (at most a minute).
    let mut last = shared.histogram.count();
    let mut quiet = 0;
    for _ in 0..60 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = shared.histogram.count();
        quiet = if now == last { quiet + 1 } else { 0 };
        last = now;
        if quiet >= 2 {
            break;
        }
    }
    shared.measuring.store(false, Ordering::Relaxed);
    let elapsed = measuring.elapsed().as_secs_f64() - 2.0;
    let cpu_after = (cpu_seconds(std::process::id()), pid.and_then(cpu_seconds));
    let _ = stop_tx.send(true);
    let mut outcomes = Vec::with_capacity(tasks.len());
    for t in tasks {
        outcomes.push(t.await.unwrap_or_default());
    }
    if let Some(s) = sampler {
        let _ = s.await;
    }
    let accepted = shared
        .seen
        .iter()
        .take(sent as usize)
        .filter(|b| b.load(Ordering::Relaxed))
        .count() as u64;
    let steady: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| o.connected && !o.dropped)
        .collect();
    let lost: u64 = steady
        .iter()
        .map(|o| accepted.saturating_sub(o.received))
        .sum();
    let reordered: u64 = outcomes.iter().map(|o| o.reordered).sum();
    let dropped = outcomes.iter().filter(|o| o.connected && o.dropped).count();
    let deliveries = shared.histogram.count();
    // Deliveries spread over the sending time and the tail that followed it.
    let window = elapsed.max(args.seconds as f64);
    let rss_mb = rss_peak.load(Ordering::Relaxed) / 1024;
    let used = |before: Option<f64>, after: Option<f64>| match (before, after) {
        (Some(b), Some(a)) => format!("{:.1}", a - b),
        _ => "?".into(),
    };
    eprintln!(
        "protocol={} sent={sent} accepted={accepted} deliveries={deliveries} dropped_participants={dropped} max_ms={:.1} window_s={window:.1} cpu_s_server={} cpu_s_generator={}",
        args.protocol,
        shared.histogram.max_us.load(Ordering::Relaxed) as f64 / 1000.0,
        used(cpu_before.1, cpu_after.1),
        used(cpu_before.0, cpu_after.0),
    );
    println!(
        "RESULT room participants={connected} deliveries_per_s={:.0} p50_ms={:.1} p99_ms={:.1} lost={lost} reordered={reordered} server_rss_mb={rss_mb}",
        deliveries as f64 / window,
        shared.histogram.quantile_ms(0.50),
        shared.histogram.quantile_ms(0.99),
    );
    Ok(())
}

/// Sends `rate` messages a second for `seconds`, each through the next
/// participant in turn; returns how many were sent.
async fn generate(args: &RoomArgs, protocol: Protocol, senders: &[mpsc::Sender<String>]) -> u64 {
    let total = args.rate * args.seconds;
    let period = Duration::from_secs_f64(1.0 / args.rate.max(1) as f64);
    let start = tokio::time::Instant::now();
    let mut sent = 0;
    let mut next = 0usize;
    for k in 0..total {
        tokio::time::sleep_until(start + period * k as u32).await;
        let text = format!("b{k}");
        let frame = match protocol {
            Protocol::Tabys => serde_json::json!({ "t": "chat", "text": text }).to_string(),
            Protocol::SocketIo => format!(r#"42["chat",{{"text":"{text}"}}]"#),
        };
        // The next participant still connected takes it.
        for _ in 0..senders.len() {
            let s = &senders[next % senders.len()];
            next += 1;
            if s.try_send(frame.clone()).is_ok() {
                sent += 1;
                break;
            }
        }
    }
    sent
}

/// A loopback address with ports to spare: 20,000 participants per address.
fn local_address(i: usize) -> std::net::SocketAddr {
    let n = (i / 20_000) as u8;
    std::net::SocketAddr::from(([127, 0, 0, 1 + n], 0))
}

#[derive(serde::Deserialize)]
struct Frame<'a> {
    t: Option<&'a str>,
    seq: Option<u64>,
    rx: Option<i64>,
    text: Option<&'a str>,
}

async fn participant(
    i: usize,
    url: String,
    shared: Arc<Shared>,
    mut out: mpsc::Receiver<String>,
    mut stop: watch::Receiver<bool>,
    ready: mpsc::Sender<()>,
) -> Outcome {
    let mut outcome = Outcome::default();
    let ws = match open(i, &url, shared.protocol).await {
        Ok(ws) => ws,
        Err(e) => {
            if shared.failed.fetch_add(1, Ordering::Relaxed) < 3 {
                eprintln!("participant {i} could not join: {e:#}");
            }
            drop(ready);
            return outcome;
        }
    };
    outcome.connected = true;
    shared.connected.fetch_add(1, Ordering::Relaxed);
    drop(ready);
    let (mut sink, mut stream) = ws.split();
    let mut last_seq = 0u64;
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            frame = out.recv() => match frame {
                Some(f) => {
                    if sink.send(Message::Text(f.into())).await.is_err() {
                        outcome.dropped = true;
                        break;
                    }
                }
                None => break,
            },
            msg = stream.next() => {
                let text = match msg {
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                        outcome.dropped = true;
                        break;
                    }
                    Some(Ok(_)) => continue,
                };
                let at = now_us();
                let body = match shared.protocol {
                    Protocol::Tabys => text.as_str(),
                    Protocol::SocketIo => {
                        if text.as_str() == "2" {
                            let _ = sink.send(Message::Text("3".into())).await;
                            continue;
                        }
                        match text.as_str().strip_prefix("42[\"msg\",").and_then(|r| r.strip_suffix(']')) {
                            Some(b) => b,
                            None => continue,
                        }
                    }
                };
                let Ok(f) = serde_json::from_str::<Frame>(body) else { continue };
                match f.t {
                    Some("msg") | None => {}
                    Some("resync") | Some("closed") | Some("banned") => {
                        outcome.dropped = true;
                        break;
                    }
                    Some(_) => continue,
                }
                let (Some(seq), Some(rx), Some(k)) = (f.seq, f.rx, f.text.and_then(|t| t.strip_prefix('b'))) else {
                    continue;
                };
                if seq <= last_seq {
                    outcome.reordered += 1;
                }
                last_seq = seq;
                let Ok(k) = k.parse::<usize>() else { continue };
                if let Some(seen) = shared.seen.get(k) {
                    seen.store(true, Ordering::Relaxed);
                }
                outcome.received += 1;
                if shared.measuring.load(Ordering::Relaxed) {
                    shared.histogram.add((at - rx).max(0) as u64);
                }
            }
        }
    }
    let _ = sink.close().await;
    outcome
}

type Ws = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

async fn open(i: usize, url: &str, protocol: Protocol) -> anyhow::Result<Ws> {
    let mut req = url.into_client_request()?;
    let host = req.uri().host().context("host in the target")?.to_string();
    let port = req.uri().port_u16().unwrap_or(80);
    if protocol == Protocol::Tabys {
        // A guest of an open room: its own id, its own name.
        req.headers_mut().insert(
            "cookie",
            format!("lg={:016x}{}", i + 1, "0".repeat(48)).parse()?,
        );
        let uri = format!(
            "{url}{}name=b{i}",
            if url.contains('?') { "&" } else { "?" }
        );
        *req.uri_mut() = uri.parse()?;
    }
    let addr = tokio::net::lookup_host((host.as_str(), port))
        .await?
        .next()
        .context("target address")?;
    let socket = TcpSocket::new_v4()?;
    if addr.ip().is_loopback() {
        socket.bind(local_address(i))?;
    }
    let stream = socket.connect(addr).await?;
    stream.set_nodelay(true)?;
    let config = WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_write_buffer_size(64 * 1024);
    let (mut ws, _) = tokio::time::timeout(
        Duration::from_secs(60),
        tokio_tungstenite::client_async_with_config(req, stream, Some(config)),
    )
    .await
    .context("handshake timed out")??;
    if protocol == Protocol::SocketIo {
        // Engine.IO open, then joining the default namespace.
        expect_prefix(&mut ws, "0").await?;
        ws.send(Message::Text("40".into())).await?;
        expect_prefix(&mut ws, "40").await?;
    }
    Ok(ws)
}

async fn expect_prefix(ws: &mut Ws, prefix: &str) -> anyhow::Result<()> {
    let wait = async {
        while let Some(m) = ws.next().await {
            if let Message::Text(t) = m?
                && t.as_str().starts_with(prefix)
            {
                return Ok(());
            }
        }
        bail!("closed before {prefix}")
    };
    tokio::time::timeout(Duration::from_secs(30), wait)
        .await
        .context("socket.io handshake timed out")?
}

/// User and system CPU time a process has used, in seconds (clock ticks of 1/100 s).
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// The resident size of a process in KiB.
fn rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

fn free_port() -> anyhow::Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

async fn wait_for(port: u16) -> anyhow::Result<()> {
    for _ in 0..300 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("the server did not start listening on port {port}")
}

/// A fresh SQLite database with an organizer and an open room whose
/// webinar is live; this binary serves it. Returns the room socket's URL.
async fn start_tabys() -> anyhow::Result<(String, tokio::process::Child)> {
    let dir = std::env::temp_dir().join(format!(
        "tabys-bench-room-{}",
        &tabys_store::token::random_token()[..10]
    ));
    std::fs::create_dir_all(&dir)?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let db = Db::connect(
        &format!("sqlite://{}", dir.join("tabys.db").display()),
        clock,
    )
    .await?;
    db.migrate().await?;
    let webinar = room(&db).await?;
    db.close().await;
    let port = free_port()?;
    let child = tokio::process::Command::new(std::env::current_exe()?)
        .args(["serve", "--no-worker", "--data"])
        .arg(&dir)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("starting the server")?;
    wait_for(port).await?;
    Ok((format!("ws://127.0.0.1:{port}/live/w/{webinar}/ws"), child))
}

async fn room(db: &Db) -> anyhow::Result<i64> {
    let mut tx = db.begin().await?;
    let owner = users::create(
        &mut tx,
        db,
        NewUser {
            email: Email::parse("owner@bench.kz").map_err(|e| anyhow::anyhow!("{e}"))?,
            name: "Bench".into(),
            password: "bench-password-1".into(),
            locale: Locale::Ru,
            adult_confirmed: true,
        },
        false,
    )
    .await?;
    tx.commit().await?;
    let profile = ProfileInput {
        slug: "bench".into(),
        legal_form: "legal_entity".into(),
        legal_name: "ТОО «Bench»".into(),
        email: "office@bench.kz".into(),
        legal_address: "г. Алматы".into(),
        iin_bin: "180540001239".into(),
        iik: "KZ86125KZT5004100100".into(),
        bik: "HSBKKZKX".into(),
        kbe: "17".into(),
        head_name: "Директоров Д. Д.".into(),
        head_position: "Директор".into(),
        ..ProfileInput::default()
    }
    .parse()?;
    let org = tabys_accounts::organizers::create(db, owner.id, profile)
        .await?
        .id;
    // Every participant may send as often as the generator asks.
    let room = rooms::create(
        db,
        org,
        RoomInput {
            title: "Bench".into(),
            video_url: "https://youtu.be/dQw4w9WgXcQ".into(),
            rate_count: "100".into(),
            rate_window_s: "1".into(),
            ..RoomInput::default()
        }
        .parse()?,
    )
    .await?;
    let starts = db.now().plus_seconds(3600);
    let local = starts
        .to_jiff()
        .to_zoned(tabys_core::calendar::almaty())
        .strftime("%Y-%m-%dT%H:%M")
        .to_string();
    let w = webinars::schedule(
        db,
        org,
        room.id,
        &WebinarInput {
            title: "Bench".into(),
            starts_at: local,
            duration_min: "600".into(),
        },
    )
    .await?;
    webinars::open(db, org, w.id).await?;
    Ok(w.id)
}

/// The socket.io server of `bench/socketio/`, with its packages installed
/// by `npm ci` beforehand.
async fn start_socketio(script: &PathBuf) -> anyhow::Result<(String, tokio::process::Child)> {
    let port = free_port()?;
    let child = tokio::process::Command::new("node")
        .arg(script)
        .env("PORT", port.to_string())
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting node {}", script.display()))?;
    wait_for(port).await?;
    Ok((
        format!("ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket"),
        child,
    ))
}
