//! The room hub: one task per running session owns its state — who is
//! connected, the sequence of events, the ring of recent ones, the pinned
//! message and the banner on show, the rate limits — and fans every event
//! out to the participants' bounded queues. A participant whose queue is
//! full is dropped and told to resync: memory stays bounded however slow a
//! client is. A participant who comes back with the last sequence number
//! seen gets what they missed from the ring.
//!
//! For an autowebinar session the same task is the session's one timer: it
//! replays the scenario's events to everyone at their moments, and a late
//! joiner starts at the current moment with the chat so far.
//!
//! Nothing here waits for the database while fanning out: messages,
//! scenario events, activity and sanctions go to one writer task that
//! stores them in batches. The hub is generic over the frame type `F`, so
//! the web adapter fans out its socket's own cheaply cloned frames and this
//! crate never knows HTTP.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use serde_json::json;
use tabys_core::ids::{OrgId, UserId};
use tabys_core::{Error, Result, Timestamp};
use tabys_store::Db;
use tokio::sync::{Mutex, mpsc, oneshot};

use crate::activity::{self, Kind, Record};
use crate::banners::Banner;
use crate::filter::Filter;
use crate::moderation::Sanction;
use crate::scenario::{self, NewEvent};
use crate::webinars::{self, Webinar};

/// A frame ready to send: built once from JSON text, cloned per recipient.
pub trait Wire: Clone + Send + Sync + 'static + From<String> {}
impl<T: Clone + Send + Sync + 'static + From<String>> Wire for T {}

/// The longest chat message, in characters.
pub const MAX_TEXT_CHARS: usize = 2000;
/// The largest frame a client may send, in bytes; larger is refused with
/// an error frame before it is parsed.
pub const MAX_FRAME_BYTES: usize = 8 * 1024;

/// Sizes and periods of the hub.
#[derive(Debug, Clone)]
pub struct HubConfig {
    /// Frames a participant's queue holds before they are dropped and resynced.
    pub queue: usize,
    /// Recent events kept for resync.
    pub ring: usize,
    /// Messages a new participant is shown on joining.
    pub history: usize,
    /// How often the participant count is sent and the scenario advanced.
    pub tick: Duration,
    /// A session without participants stops after this long.
    pub idle: Duration,
}

impl Default for HubConfig {
    fn default() -> Self {
        Self {
            queue: 256,
            ring: 4096,
            history: 100,
            tick: Duration::from_millis(200),
            idle: Duration::from_secs(120),
        }
    }
}

/// A frame from a participant.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(tag = "t", rename_all = "lowercase")]
pub enum ClientFrame {
    /// A chat message; `q` sends it to the moderators only, as a question.
    Chat {
        text: String,
        #[serde(default)]
        q: bool,
    },
    Delete {
        seq: u64,
    },
    Pin {
        seq: u64,
    },
    Unpin,
    Mute {
        who: String,
    },
    Unmute {
        who: String,
    },
    Ban {
        who: String,
    },
    /// Shows a banner, or hides the one on show with `null`.
    Banner {
        id: Option<i64>,
    },
    /// Participants' messages go to moderators only while on.
    Questions {
        on: bool,
    },
}

/// Reads a participant's frame; the error is the code of the error frame.
pub fn parse_client(text: &str) -> std::result::Result<ClientFrame, &'static str> {
    if text.len() > MAX_FRAME_BYTES {
        return Err("live-frame-too-large");
    }
    serde_json::from_str(text).map_err(|_| "live-frame-invalid")
}

/// The error frame a participant gets for a bad frame; nothing is stored.
pub fn error_frame(code: &str) -> String {
    json!({ "t": "error", "code": code }).to_string()
}

/// Why a connection is ended by the hub.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kick {
    /// The queue overflowed: reconnect with the last sequence number seen.
    Resync,
    Banned,
    /// The session ended.
    Closed,
}

impl Kick {
    /// The last frame the participant gets.
    pub fn frame(self) -> String {
        match self {
            Self::Resync => json!({ "t": "resync" }),
            Self::Banned => json!({ "t": "banned" }),
            Self::Closed => json!({ "t": "closed" }),
        }
        .to_string()
    }
}

/// Who is joining, as admitted by [`webinars::admit`].
#[derive(Debug, Clone)]
pub struct Member {
    pub participant: String,
    pub name: String,
    pub user: Option<UserId>,
    pub moderator: bool,
}

impl From<webinars::Admission> for Member {
    fn from(a: webinars::Admission) -> Self {
        Self {
            participant: a.participant,
            name: a.name,
            user: a.user,
            moderator: a.moderator,
        }
    }
}

enum Cmd<F> {
    Join {
        member: Member,
        since: Option<u64>,
        reply: oneshot::Sender<Result<Joined<F>>>,
    },
    Leave {
        conn: u64,
    },
    Client {
        conn: u64,
        frame: ClientFrame,
        rx_us: i64,
    },
    Banners(Vec<Banner>),
    Tick(Option<oneshot::Sender<Snapshot>>),
    Close,
}

struct Joined<F> {
    id: u64,
    queue: mpsc::Receiver<F>,
    kick: oneshot::Receiver<Kick>,
    own: mpsc::Sender<F>,
}

/// What a test or the organizer's page may ask of a running session.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub connections: usize,
    pub seq: u64,
    pub banner: Option<i64>,
    pub pinned: Option<u64>,
    /// Scenario events replayed so far.
    pub replayed: usize,
}

/// One participant's connection to a session.
pub struct Connection<F> {
    pub id: u64,
    pub participant: String,
    /// Frames to send, in order.
    pub queue: mpsc::Receiver<F>,
    /// Fires when the hub ends the connection; send [`Kick::frame`] and close.
    pub kick: oneshot::Receiver<Kick>,
    /// Passes the participant's frames to the session, from whichever task
    /// reads the socket.
    pub sender: ConnectionSender<F>,
}

/// The sending half of a [`Connection`].
pub struct ConnectionSender<F> {
    id: u64,
    own: mpsc::Sender<F>,
    cmd: mpsc::Sender<Cmd<F>>,
}

impl<F: Wire> ConnectionSender<F> {
    /// Passes a participant's frame to the session, stamped with the
    /// moment it was received (wall clock, µs) for latency measurement.
    pub async fn send(&self, frame: ClientFrame, rx_us: i64) {
        let _ = self
            .cmd
            .send(Cmd::Client {
                conn: self.id,
                frame,
                rx_us,
            })
            .await;
    }

    /// An error frame to this participant only; dropped if their queue is full.
    pub fn error(&self, code: &str) {
        let _ = self.own.try_send(F::from(error_frame(code)));
    }

    /// The participant left; the session records the time watched.
    pub async fn leave(self) {
        let _ = self.cmd.send(Cmd::Leave { conn: self.id }).await;
    }
}

#[derive(Clone)]
struct Handle<F> {
    room: i64,
    cmd: mpsc::Sender<Cmd<F>>,
}

struct Inner<F> {
    db: Db,
    config: HubConfig,
    sessions: Mutex<HashMap<i64, Handle<F>>>,
    writer: OnceLock<mpsc::UnboundedSender<Write>>,
}

/// Every running session of this process. Cheap to clone.
pub struct Hubs<F> {
    inner: Arc<Inner<F>>,
}

impl<F> Clone for Hubs<F> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<F: Wire> Hubs<F> {
    pub fn new(db: Db, config: HubConfig) -> Self {
        Self {
            inner: Arc::new(Inner {
                db,
                config,
                sessions: Mutex::new(HashMap::new()),
                writer: OnceLock::new(),
            }),
        }
    }

    fn writer(&self) -> mpsc::UnboundedSender<Write> {
        self.inner
            .writer
            .get_or_init(|| {
                let (tx, rx) = mpsc::unbounded_channel();
                tokio::spawn(write_loop(self.inner.db.clone(), rx));
                tx
            })
            .clone()
    }

    async fn handle(&self, webinar: i64) -> Result<Handle<F>> {
        let mut sessions = self.inner.sessions.lock().await;
        if let Some(h) = sessions.get(&webinar)
            && !h.cmd.is_closed()
        {
            return Ok(h.clone());
        }
        let w = webinars::find(&self.inner.db, webinar).await?;
        if !w.is_running(self.inner.db.now()) {
            return Err(Error::Conflict("live-not-running"));
        }
        let state = Session::load(self, w).await?;
        let (tx, rx) = mpsc::channel(4096);
        let handle = Handle {
            room: state.webinar.room_id,
            cmd: tx,
        };
        sessions.insert(webinar, handle.clone());
        tokio::spawn(state.run(rx, self.clone(), handle.cmd.clone()));
        Ok(handle)
    }

    /// Joins the running session; `since` is the last sequence number the
    /// participant saw before a reconnect. A banned participant is refused.
    pub async fn join(
        &self,
        webinar: i64,
        member: Member,
        since: Option<u64>,
    ) -> Result<Connection<F>> {
        for _ in 0..2 {
            let handle = self.handle(webinar).await?;
            let (reply, answer) = oneshot::channel();
            let sent = handle
                .cmd
                .send(Cmd::Join {
                    member: member.clone(),
                    since,
                    reply,
                })
                .await;
            if sent.is_err() {
                // The session stopped for being idle just now: start it again.
                continue;
            }
            let Ok(joined) = answer.await else { continue };
            let joined = joined?;
            return Ok(Connection {
                id: joined.id,
                participant: member.participant,
                queue: joined.queue,
                kick: joined.kick,
                sender: ConnectionSender {
                    id: joined.id,
                    own: joined.own,
                    cmd: handle.cmd,
                },
            });
        }
        Err(Error::Conflict("live-not-running"))
    }

    /// Tells the sessions of a room that its banners changed.
    pub async fn banners_changed(&self, room: i64, banners: Vec<Banner>) {
        let handles: Vec<Handle<F>> = {
            let sessions = self.inner.sessions.lock().await;
            sessions
                .values()
                .filter(|h| h.room == room)
                .cloned()
                .collect()
        };
        for h in handles {
            let _ = h.cmd.send(Cmd::Banners(banners.clone())).await;
        }
    }

    /// Ends a session: everyone is told and disconnected.
    pub async fn close(&self, webinar: i64) {
        let handle = self.inner.sessions.lock().await.remove(&webinar);
        if let Some(h) = handle {
            let _ = h.cmd.send(Cmd::Close).await;
        }
    }

    /// Advances the session now (the count, the scenario) and reports its
    /// state; `None` when it is not running in this process.
    pub async fn tick(&self, webinar: i64) -> Option<Snapshot> {
        let handle = self.inner.sessions.lock().await.get(&webinar).cloned()?;
        let (tx, rx) = oneshot::channel();
        handle.cmd.send(Cmd::Tick(Some(tx))).await.ok()?;
        rx.await.ok()
    }

    /// Waits until everything sent to the writer so far is stored.
    pub async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.writer().send(Write::Flush(tx)).is_ok() {
            let _ = rx.await;
        }
    }

    /// How many participants are connected to the session in this process.
    pub async fn connections(&self, webinar: i64) -> usize {
        self.tick(webinar).await.map_or(0, |s| s.connections)
    }
}

/// Who may see an event.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Audience {
    All,
    /// A question: the moderators and its author.
    Mods(String),
    /// A muted participant's message: its author only.
    Own(String),
}

impl Audience {
    fn code(&self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Mods(_) => "mods",
            Self::Own(_) => "self",
        }
    }

    fn admits(&self, participant: &str, moderator: bool) -> bool {
        match self {
            Self::All => true,
            Self::Mods(author) => moderator || author == participant,
            Self::Own(author) => author == participant,
        }
    }
}

#[derive(Debug, Clone)]
struct Msg {
    seq: u64,
    participant: String,
    name: String,
    text: String,
    question: bool,
    moderator: bool,
    at: i64,
    rx_us: i64,
    label: String,
}

impl Msg {
    fn json(&self) -> serde_json::Value {
        json!({
            "t": "msg", "seq": self.seq, "who": self.participant, "name": self.name,
            "text": self.text, "q": self.question, "mod": self.moderator,
            "at": self.at, "rx": self.rx_us,
        })
    }
}

struct Entry<F> {
    seq: u64,
    audience: Audience,
    frame: F,
    msg: Option<Msg>,
    deleted: bool,
}

struct Conn<F> {
    participant: String,
    name: String,
    moderator: bool,
    queue: mpsc::Sender<F>,
    kick: Option<oneshot::Sender<Kick>>,
    joined: Timestamp,
}

struct Session<F> {
    db: Db,
    config: HubConfig,
    webinar: Webinar,
    org: OrgId,
    filter: Filter,
    banners: Vec<Banner>,
    bans: HashSet<String>,
    mutes: HashSet<String>,
    questions_only: bool,
    rate_count: usize,
    rate_window_ms: i64,
    simulated: i64,
    conns: HashMap<u64, Conn<F>>,
    next_conn: u64,
    seq: u64,
    ring: VecDeque<Entry<F>>,
    pinned: Option<Msg>,
    banner: Option<i64>,
    rate: HashMap<String, VecDeque<i64>>,
    writer: mpsc::UnboundedSender<Write>,
    /// The scenario replayed (an autowebinar session).
    playback: Vec<scenario::Event>,
    played: usize,
    /// Sequence numbers of replayed messages by their scenario label.
    labels: HashMap<String, u64>,
    /// The scenario being recorded (a live webinar).
    recording: Option<i64>,
    /// When the command being handled arrived: what it records is placed
    /// at this moment, however long handling it takes.
    moment: Timestamp,
    last_count: i64,
    empty_since: Option<Instant>,
}

fn wall_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

impl<F: Wire> Session<F> {
    async fn load(hubs: &Hubs<F>, webinar: Webinar) -> Result<Self> {
        let db = hubs.inner.db.clone();
        let room = crate::rooms::find(&db, webinar.room_id).await?;
        let filter = crate::filter::load(&db, room.org_id).await?;
        let banners = crate::banners::of_room(&db, room.org_id, room.id).await?;
        let mut bans = HashSet::new();
        let mut mutes = HashSet::new();
        for (p, s) in crate::moderation::of_room(&db, room.id).await? {
            match s {
                Sanction::Ban => bans.insert(p),
                Sanction::Mute => mutes.insert(p),
            };
        }
        let (playback, recording, simulated) = match webinar.autowebinar_id {
            Some(aw) => {
                let events = match webinar.scenario_id {
                    Some(s) => scenario::events(&db, s).await?,
                    None => Vec::new(),
                };
                let simulated = crate::autowebinars::get(&db, room.org_id, aw)
                    .await
                    .map_or(0, |a| a.simulated_count);
                (events, None, simulated)
            }
            None => (Vec::new(), webinar.scenario_id, 0),
        };
        let mut s = Self {
            moment: db.now(),
            config: hubs.inner.config.clone(),
            org: room.org_id,
            filter,
            banners,
            bans,
            mutes,
            questions_only: room.questions_only,
            rate_count: room.rate_count.max(1) as usize,
            rate_window_ms: room.rate_window_ms,
            simulated,
            conns: HashMap::new(),
            next_conn: 1,
            seq: 0,
            ring: VecDeque::new(),
            pinned: None,
            banner: None,
            rate: HashMap::new(),
            writer: hubs.writer(),
            playback,
            played: 0,
            labels: HashMap::new(),
            recording,
            last_count: -1,
            empty_since: Some(Instant::now()),
            webinar,
            db,
        };
        // A session started late begins at its current moment, with what
        // was said and shown before it.
        s.advance_playback();
        Ok(s)
    }

    async fn run(
        mut self,
        mut rx: mpsc::Receiver<Cmd<F>>,
        hubs: Hubs<F>,
        me: mpsc::Sender<Cmd<F>>,
    ) {
        let mut tick = tokio::time::interval(self.config.tick);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                cmd = rx.recv() => match cmd {
                    None | Some(Cmd::Close) => {
                        self.kick_all(Kick::Closed);
                        break;
                    }
                    Some(cmd) => self.handle(cmd),
                },
                _ = tick.tick() => {
                    self.on_tick();
                    let idle = self.empty_since.is_some_and(|t| t.elapsed() >= self.config.idle);
                    let over = self.webinar.is_auto() && !self.webinar.is_running(self.db.now());
                    if idle || over {
                        if over {
                            self.kick_all(Kick::Closed);
                        }
                        break;
                    }
                }
            }
        }
        let mut sessions = hubs.inner.sessions.lock().await;
        if sessions
            .get(&self.webinar.id)
            .is_some_and(|h| h.cmd.same_channel(&me))
        {
            sessions.remove(&self.webinar.id);
        }
    }

    fn handle(&mut self, cmd: Cmd<F>) {
        self.moment = self.now();
        match cmd {
            Cmd::Join {
                member,
                since,
                reply,
            } => {
                let _ = reply.send(self.join(member, since));
            }
            Cmd::Leave { conn } => self.leave(conn),
            Cmd::Client { conn, frame, rx_us } => self.client(conn, frame, rx_us),
            Cmd::Banners(b) => self.banners = b,
            Cmd::Tick(reply) => {
                self.on_tick();
                if let Some(reply) = reply {
                    let _ = reply.send(Snapshot {
                        connections: self.conns.len(),
                        seq: self.seq,
                        banner: self.banner,
                        pinned: self.pinned.as_ref().map(|m| m.seq),
                        replayed: self.played,
                    });
                }
            }
            Cmd::Close => {}
        }
    }

    fn now(&self) -> Timestamp {
        self.db.now()
    }

    fn offset(&self, at: Timestamp) -> i64 {
        (at.0 - self.webinar.origin().0).clamp(0, scenario::MAX_OFFSET_MS)
    }

    fn activity(&self, participant: &str, kind: Kind, ref_id: Option<i64>, value: i64) {
        let _ = self.writer.send(Write::Activity(Record {
            org: self.org,
            webinar: self.webinar.id,
            participant: participant.to_string(),
            kind,
            ref_id,
            value,
            at: self.now(),
        }));
    }

    fn record(
        &self,
        kind: &'static str,
        author: &str,
        body: &str,
        label: String,
        reference: String,
    ) {
        if let Some(scenario) = self.recording {
            let _ = self.writer.send(Write::Scenario {
                scenario,
                event: NewEvent {
                    offset_ms: self.offset(self.moment),
                    kind,
                    author: author.to_string(),
                    body: body.to_string(),
                    label,
                    reference,
                },
            });
        }
    }

    fn count(&self) -> i64 {
        self.conns.len() as i64 + self.simulated
    }

    fn banner_json(&self) -> serde_json::Value {
        match self
            .banner
            .and_then(|id| self.banners.iter().find(|b| b.id == id))
        {
            Some(b) => json!({
                "id": b.id, "text": b.text, "image": b.image_url, "button": b.button_text,
                "url": b.button_url, "product": b.product_id,
            }),
            None => serde_json::Value::Null,
        }
    }

    fn join(&mut self, member: Member, since: Option<u64>) -> Result<Joined<F>> {
        if self.bans.contains(&member.participant) {
            return Err(Error::Conflict("live-banned"));
        }
        // What the participant missed, or the latest messages for a newcomer.
        let visible: Vec<F> = self
            .ring
            .iter()
            .filter(|e| e.audience.admits(&member.participant, member.moderator))
            .filter(|e| match since {
                Some(s) => e.seq > s,
                None => e.msg.is_some() && !e.deleted,
            })
            .map(|e| e.frame.clone())
            .collect();
        let take = match since {
            Some(_) => visible.len(),
            None => visible.len().min(self.config.history),
        };
        // The queue holds the whole catch-up (at most the ring) at once.
        let (tx, rx) = mpsc::channel(self.config.queue.max(take + 2));
        let (kick_tx, kick_rx) = oneshot::channel();
        let hello = json!({
            "t": "hello", "you": member.participant, "name": member.name, "mod": member.moderator,
            "seq": self.seq, "count": self.count(), "banner": self.banner_json(),
            "pinned": self.pinned.as_ref().map(Msg::json), "questions": self.questions_only,
            "auto": self.webinar.is_auto(), "webinar": self.webinar.id,
        });
        let _ = tx.try_send(F::from(hello.to_string()));
        for f in &visible[visible.len() - take..] {
            let _ = tx.try_send(f.clone());
        }
        let id = self.next_conn;
        self.next_conn += 1;
        self.activity(&member.participant, Kind::Join, None, 0);
        self.conns.insert(
            id,
            Conn {
                participant: member.participant,
                name: member.name,
                moderator: member.moderator,
                queue: tx.clone(),
                kick: Some(kick_tx),
                joined: self.now(),
            },
        );
        self.empty_since = None;
        Ok(Joined {
            id,
            queue: rx,
            kick: kick_rx,
            own: tx,
        })
    }

    fn leave(&mut self, conn: u64) {
        if let Some(c) = self.conns.remove(&conn) {
            self.left(&c);
        }
        if self.conns.is_empty() {
            self.empty_since = Some(Instant::now());
        }
    }

    fn left(&self, c: &Conn<F>) {
        let watched = (self.now().0 - c.joined.0).max(0);
        self.activity(&c.participant, Kind::Leave, None, watched);
    }

    fn kick(&mut self, ids: &[u64], why: Kick) {
        for id in ids {
            if let Some(mut c) = self.conns.remove(id) {
                if let Some(k) = c.kick.take() {
                    let _ = k.send(why);
                }
                self.left(&c);
            }
        }
        if self.conns.is_empty() {
            self.empty_since = Some(Instant::now());
        }
    }

    fn kick_all(&mut self, why: Kick) {
        let ids: Vec<u64> = self.conns.keys().copied().collect();
        self.kick(&ids, why);
    }

    /// Sends a frame to everyone the audience admits; a full queue drops
    /// its participant, who is told to resync.
    fn deliver(&mut self, audience: &Audience, frame: &F) {
        let mut overflow = Vec::new();
        for (id, c) in &self.conns {
            if audience.admits(&c.participant, c.moderator)
                && c.queue.try_send(frame.clone()).is_err()
            {
                overflow.push(*id);
            }
        }
        if !overflow.is_empty() {
            self.kick(&overflow, Kick::Resync);
        }
    }

    /// A sequenced event: numbered, kept in the ring, delivered.
    fn publish(
        &mut self,
        audience: Audience,
        mut value: serde_json::Value,
        msg: Option<Msg>,
    ) -> u64 {
        self.seq += 1;
        let seq = self.seq;
        value["seq"] = json!(seq);
        let frame = F::from(value.to_string());
        self.deliver(&audience, &frame);
        self.ring.push_back(Entry {
            seq,
            audience,
            frame,
            msg,
            deleted: false,
        });
        while self.ring.len() > self.config.ring {
            self.ring.pop_front();
        }
        seq
    }

    fn to_one(&self, conn: u64, code: &str) {
        if let Some(c) = self.conns.get(&conn) {
            let _ = c.queue.try_send(F::from(error_frame(code)));
        }
    }

    fn client(&mut self, conn: u64, frame: ClientFrame, rx_us: i64) {
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        let (participant, name, moderator) = (c.participant.clone(), c.name.clone(), c.moderator);
        match frame {
            ClientFrame::Chat { text, q } => {
                self.chat(conn, participant, name, moderator, text, q, rx_us)
            }
            _ if !moderator => self.to_one(conn, "forbidden"),
            ClientFrame::Delete { seq } => self.delete(conn, seq),
            ClientFrame::Pin { seq } => {
                let msg = self
                    .ring
                    .iter()
                    .find(|e| e.seq == seq && e.audience == Audience::All && !e.deleted)
                    .and_then(|e| e.msg.clone());
                match msg {
                    Some(m) => self.pin(Some(m)),
                    None => self.to_one(conn, "not-found"),
                }
            }
            ClientFrame::Unpin => self.pin(None),
            ClientFrame::Mute { who } => self.sanction(&who, Sanction::Mute, true),
            ClientFrame::Unmute { who } => self.sanction(&who, Sanction::Mute, false),
            ClientFrame::Ban { who } => {
                self.sanction(&who, Sanction::Ban, true);
                let ids: Vec<u64> = self
                    .conns
                    .iter()
                    .filter(|(_, c)| c.participant == who && !c.moderator)
                    .map(|(id, _)| *id)
                    .collect();
                self.kick(&ids, Kick::Banned);
            }
            ClientFrame::Banner { id } => {
                if id.is_some_and(|id| !self.banners.iter().any(|b| b.id == id)) {
                    self.to_one(conn, "not-found");
                } else {
                    self.show_banner(id);
                }
            }
            ClientFrame::Questions { on } => {
                self.questions_only = on;
                let _ = self.writer.send(Write::QuestionsOnly {
                    room: self.webinar.room_id,
                    on,
                });
                let frame = F::from(json!({ "t": "questions", "on": on }).to_string());
                self.deliver(&Audience::All, &frame);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn chat(
        &mut self,
        conn: u64,
        participant: String,
        name: String,
        moderator: bool,
        text: String,
        q: bool,
        rx_us: i64,
    ) {
        let text = text.trim();
        if text.is_empty() {
            return self.to_one(conn, "live-message-empty");
        }
        if text.chars().count() > MAX_TEXT_CHARS {
            return self.to_one(conn, "live-message-too-long");
        }
        if text.chars().any(|c| c.is_control() && c != '\n') {
            return self.to_one(conn, "live-frame-invalid");
        }
        let now = self.moment;
        if !moderator {
            let window = self.rate.entry(participant.clone()).or_default();
            while window
                .front()
                .is_some_and(|t| now.0 - *t >= self.rate_window_ms)
            {
                window.pop_front();
            }
            if window.len() >= self.rate_count {
                return self.to_one(conn, "live-rate-limited");
            }
            window.push_back(now.0);
        }
        let text = self.filter.apply(text);
        let question = !moderator && (q || self.questions_only);
        let audience = if self.mutes.contains(&participant) && !moderator {
            Audience::Own(participant.clone())
        } else if question {
            Audience::Mods(participant.clone())
        } else {
            Audience::All
        };
        let msg = Msg {
            seq: self.seq + 1,
            participant: participant.clone(),
            name: name.clone(),
            text: text.clone(),
            question,
            moderator,
            at: now.0,
            rx_us,
            label: format!("m{}", self.seq + 1),
        };
        // Stored and recorded before anyone sees it (the number is the one
        // `publish` gives next): whoever reacts to the frame finds the
        // message already on its way to the database.
        let seq = msg.seq;
        let _ = self.writer.send(Write::Message {
            org: self.org,
            webinar: self.webinar.id,
            seq: seq as i64,
            participant: participant.clone(),
            author: name.clone(),
            body: text.clone(),
            kind: if question { "question" } else { "chat" },
            audience: audience.code(),
            at: now.0,
        });
        self.activity(&participant, Kind::Message, Some(seq as i64), 0);
        if audience == Audience::All {
            self.record("chat", &name, &text, msg.label.clone(), String::new());
        }
        self.publish(audience, msg.json(), None);
        if let Some(e) = self.ring.back_mut() {
            e.msg = Some(msg);
        }
    }

    fn delete(&mut self, conn: u64, seq: u64) {
        let Some(e) = self
            .ring
            .iter_mut()
            .find(|e| e.seq == seq && e.msg.is_some())
        else {
            return self.to_one(conn, "not-found");
        };
        if e.deleted {
            return;
        }
        e.deleted = true;
        let label = e.msg.as_ref().map(|m| m.label.clone()).unwrap_or_default();
        let audience = e.audience.clone();
        if self.pinned.as_ref().is_some_and(|p| p.seq == seq) {
            self.pin(None);
        }
        // Stored and recorded before anyone sees it: whoever reacts to the
        // frame finds the record already on its way to the database.
        let _ = self.writer.send(Write::Deleted {
            webinar: self.webinar.id,
            seq: seq as i64,
            at: self.moment.0,
        });
        self.record("delete", "", "", String::new(), label);
        self.publish(audience, json!({ "t": "deleted", "id": seq }), None);
    }

    fn pin(&mut self, msg: Option<Msg>) {
        let label = msg.as_ref().map(|m| m.label.clone());
        let value = json!({ "t": "pinned", "msg": msg.as_ref().map(Msg::json) });
        self.pinned = msg;
        match label {
            Some(l) => self.record("pin", "", "", String::new(), l),
            None => self.record("unpin", "", "", String::new(), String::new()),
        }
        self.publish(Audience::All, value, None);
    }

    fn show_banner(&mut self, id: Option<i64>) {
        let before = self.banner;
        self.banner = id;
        let value = json!({ "t": "banner", "banner": self.banner_json() });
        match (before, id) {
            (_, Some(id)) => self.record("banner_show", "", "", String::new(), id.to_string()),
            (Some(old), None) => self.record("banner_hide", "", "", String::new(), old.to_string()),
            (None, None) => {}
        }
        self.publish(Audience::All, value, None);
    }

    fn sanction(&mut self, who: &str, s: Sanction, on: bool) {
        let set = match s {
            Sanction::Ban => &mut self.bans,
            Sanction::Mute => &mut self.mutes,
        };
        if on {
            set.insert(who.to_string());
        } else {
            set.remove(who);
        }
        // The moderators see it took effect; the person is not told (a
        // shadow mute stays unnoticed).
        let frame =
            F::from(json!({ "t": "sanction", "who": who, "kind": s.code(), "on": on }).to_string());
        self.deliver(&Audience::Mods(String::new()), &frame);
        let _ = self.writer.send(Write::Sanction {
            room: self.webinar.room_id,
            participant: who.to_string(),
            sanction: s,
            on,
        });
    }

    fn on_tick(&mut self) {
        self.advance_playback();
        let n = self.count();
        if n != self.last_count {
            self.last_count = n;
            let frame = F::from(json!({ "t": "count", "n": n }).to_string());
            self.deliver(&Audience::All, &frame);
        }
    }

    /// Replays every scenario event whose moment has come.
    fn advance_playback(&mut self) {
        let elapsed = self.now().0 - self.webinar.origin().0;
        while let Some(e) = self.playback.get(self.played) {
            if e.offset_ms > elapsed {
                break;
            }
            let e = e.clone();
            self.played += 1;
            self.replay(&e);
        }
    }

    fn replay(&mut self, e: &scenario::Event) {
        match e.kind.as_str() {
            "chat" => {
                let seq = self.seq + 1;
                let msg = Msg {
                    seq,
                    participant: "s".into(),
                    name: e.author.clone(),
                    text: e.body.clone(),
                    question: false,
                    moderator: false,
                    at: self.webinar.origin().0 + e.offset_ms,
                    rx_us: wall_us(),
                    label: e.label.clone(),
                };
                let value = msg.json();
                self.publish(Audience::All, value, Some(msg));
                if !e.label.is_empty() {
                    self.labels.insert(e.label.clone(), seq);
                }
            }
            "pin" => {
                let msg = self.labels.get(&e.reference).and_then(|seq| {
                    self.ring
                        .iter()
                        .find(|x| x.seq == *seq && !x.deleted)
                        .and_then(|x| x.msg.clone())
                });
                if msg.is_some() {
                    self.pin(msg);
                }
            }
            "unpin" => self.pin(None),
            "delete" => {
                if let Some(seq) = self.labels.get(&e.reference).copied()
                    && let Some(x) = self.ring.iter_mut().find(|x| x.seq == seq)
                    && !x.deleted
                {
                    x.deleted = true;
                    if self.pinned.as_ref().is_some_and(|p| p.seq == seq) {
                        self.pin(None);
                    }
                    self.publish(Audience::All, json!({ "t": "deleted", "id": seq }), None);
                }
            }
            "banner_show" => {
                if let Ok(id) = e.reference.parse::<i64>()
                    && self.banners.iter().any(|b| b.id == id)
                {
                    self.show_banner(Some(id));
                }
            }
            "banner_hide" if self.banner.is_some() => self.show_banner(None),
            _ => {}
        }
    }
}

// ---------------------------------------------------------------- writer

enum Write {
    Message {
        org: OrgId,
        webinar: i64,
        seq: i64,
        participant: String,
        author: String,
        body: String,
        kind: &'static str,
        audience: &'static str,
        at: i64,
    },
    Deleted {
        webinar: i64,
        seq: i64,
        at: i64,
    },
    Scenario {
        scenario: i64,
        event: NewEvent,
    },
    Activity(Record),
    Sanction {
        room: i64,
        participant: String,
        sanction: Sanction,
        on: bool,
    },
    QuestionsOnly {
        room: i64,
        on: bool,
    },
    Flush(oneshot::Sender<()>),
}

/// Stores what the hubs produce, many at a time in one transaction, so
/// SQLite's one writer is asked once per batch and fan-out never waits.
async fn write_loop(db: Db, mut rx: mpsc::UnboundedReceiver<Write>) {
    let mut batch = Vec::new();
    while let Some(first) = rx.recv().await {
        batch.push(first);
        while batch.len() < 1000 {
            match rx.try_recv() {
                Ok(w) => batch.push(w),
                Err(_) => break,
            }
        }
        let mut waiters = Vec::new();
        let mut writes = Vec::new();
        for w in batch.drain(..) {
            match w {
                Write::Flush(tx) => waiters.push(tx),
                other => writes.push(other),
            }
        }
        if !writes.is_empty()
            && let Err(e) = store(&db, &writes).await
        {
            tracing::error!(error = %e, count = writes.len(), "storing room events failed");
        }
        for w in waiters {
            let _ = w.send(());
        }
    }
}

async fn store(db: &Db, writes: &[Write]) -> Result<()> {
    let now = db.now();
    let mut tx = db.begin().await?;
    for w in writes {
        match w {
            Write::Message {
                org,
                webinar,
                seq,
                participant,
                author,
                body,
                kind,
                audience,
                at,
            } => {
                sqlx::query(
                    "INSERT INTO live_messages (org_id, webinar_id, seq, participant, author, body, kind, audience, at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (webinar_id, seq) DO NOTHING",
                )
                .bind(org.0)
                .bind(webinar)
                .bind(seq)
                .bind(participant)
                .bind(author)
                .bind(body)
                .bind(*kind)
                .bind(*audience)
                .bind(at)
                .execute(&mut *tx)
                .await?;
            }
            Write::Deleted { webinar, seq, at } => {
                sqlx::query(
                    "UPDATE live_messages SET deleted_at = $1 WHERE webinar_id = $2 AND seq = $3",
                )
                .bind(at)
                .bind(webinar)
                .bind(seq)
                .execute(&mut *tx)
                .await?;
            }
            Write::Scenario { scenario, event } => {
                scenario::append(&mut tx, now, *scenario, std::slice::from_ref(event)).await?;
            }
            Write::Activity(r) => activity::write(&mut tx, r).await?,
            Write::Sanction {
                room,
                participant,
                sanction,
                on,
            } => {
                if *on {
                    sqlx::query(
                        "INSERT INTO live_bans (room_id, participant, kind, created_at) VALUES ($1, $2, $3, $4)
                         ON CONFLICT (room_id, participant, kind) DO NOTHING",
                    )
                    .bind(room)
                    .bind(participant)
                    .bind(sanction.code())
                    .bind(now.0)
                    .execute(&mut *tx)
                    .await?;
                } else {
                    sqlx::query("DELETE FROM live_bans WHERE room_id = $1 AND participant = $2 AND kind = $3")
                        .bind(room)
                        .bind(participant)
                        .bind(sanction.code())
                        .execute(&mut *tx)
                        .await?;
                }
            }
            Write::QuestionsOnly { room, on } => {
                sqlx::query("UPDATE live_rooms SET questions_only = $1 WHERE id = $2")
                    .bind(i64::from(*on))
                    .bind(room)
                    .execute(&mut *tx)
                    .await?;
            }
            Write::Flush(_) => {}
        }
    }
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_checked_before_they_reach_the_session() {
        assert!(matches!(
            parse_client(r#"{"t":"chat","text":"сәлем"}"#),
            Ok(ClientFrame::Chat { q: false, .. })
        ));
        assert_eq!(parse_client("{not json").err(), Some("live-frame-invalid"));
        assert_eq!(
            parse_client(r#"{"t":"shout"}"#).err(),
            Some("live-frame-invalid")
        );
        let big = format!(r#"{{"t":"chat","text":"{}"}}"#, "a".repeat(MAX_FRAME_BYTES));
        assert_eq!(parse_client(&big).err(), Some("live-frame-too-large"));
    }

    #[test]
    fn questions_reach_moderators_and_their_author_and_muted_messages_only_their_author() {
        let q = Audience::Mods("u1".into());
        assert!(q.admits("u1", false) && q.admits("u9", true) && !q.admits("u2", false));
        let m = Audience::Own("u1".into());
        assert!(m.admits("u1", false) && !m.admits("u9", true));
    }
}
