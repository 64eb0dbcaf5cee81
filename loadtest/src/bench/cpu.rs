//! CPU accounting from `/proc`: user + system seconds of every process that matters, read before
//! and after a measured window, turned into microseconds per accepted event.
//!
//! Processes the driver started (ingest, the seed, processors, the bare handler) are found by
//! their pids; the shared servers by their command names. PostgreSQL's backends that exit inside
//! a window are not lost: the postmaster's "waited-for children" times hold them. The load
//! generators (wrk, goose) are the driver's own children, read the same way from
//! `/proc/self/stat`, plus the driver itself (the end-to-end run's client is in-process). The
//! whole machine is the busy time of the `cpu` line of `/proc/stat`.

use std::{collections::BTreeMap, fs, time::Instant};

/// `/proc` reports times in USER_HZ ticks, 100 per second on Linux whatever the kernel's HZ.
const TICKS_PER_SECOND: f64 = 100.0;

/// Shared servers, by the command name their processes carry.
const BY_NAME: &[(&str, &str)] = &[
    ("java", "kafka"),
    ("redis-server", "redis"),
    ("postgres", "postgres"),
    ("jaeger", "jaeger"),
];

/// Every process column the report shows, in order (`other` is the machine minus the rest).
pub const PROCESSES: &[&str] = &[
    "ingest",
    "seed",
    "processor",
    "kafka",
    "redis",
    "postgres",
    "jaeger",
    "generator",
    "other",
    "machine",
];

/// The services a sizing rule is written for (events/s per core), and the machine as a whole.
pub const SIZED: &[&str] = &[
    "ingest",
    "processor",
    "kafka",
    "redis",
    "postgres",
    "jaeger",
    "machine",
];

/// CPU seconds used so far, per process group, at one instant.
#[derive(Debug, Clone)]
pub struct Snapshot {
    at: Instant,
    seconds: BTreeMap<String, f64>,
}

/// The CPU a window used: seconds per process group and the window's length.
#[derive(Debug, Clone)]
pub struct Usage {
    pub seconds: BTreeMap<String, f64>,
    pub wall_s: f64,
}

struct Stat {
    comm: String,
    ppid: u32,
    own: f64,
    children: f64,
}

fn read_stat(path: &str) -> Option<Stat> {
    let text = fs::read_to_string(path).ok()?;
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let fields: Vec<&str> = text.get(close + 2..)?.split_whitespace().collect();
    let tick = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    Some(Stat {
        comm: text[open + 1..close].to_owned(),
        ppid: fields.get(1)?.parse().ok()?,
        own: (tick(11) + tick(12)) / TICKS_PER_SECOND,
        children: (tick(13) + tick(14)) / TICKS_PER_SECOND,
    })
}

/// Busy seconds of the whole machine (user, nice, system, irq, softirq of every core).
fn machine_seconds() -> f64 {
    let text = fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = text.lines().find(|l| l.starts_with("cpu ")) else {
        return 0.0;
    };
    let v: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .map(|x| x.parse().unwrap_or(0.0))
        .collect();
    let at = |i: usize| v.get(i).copied().unwrap_or(0.0);
    (at(0) + at(1) + at(2) + at(5) + at(6)) / TICKS_PER_SECOND
}

/// Reads every process' CPU time; `roles` names the pids the driver started (`ingest`,
/// `processor`, `seed`, …; a role may hold several pids, whose times are summed).
pub fn snapshot(roles: &[(&str, u32)]) -> Snapshot {
    let mut seconds: BTreeMap<String, f64> = BTreeMap::new();
    for (role, _) in roles {
        seconds.entry((*role).to_owned()).or_default();
    }
    for (_, name) in BY_NAME {
        seconds.entry((*name).to_owned()).or_default();
    }
    let mut stats: BTreeMap<u32, Stat> = BTreeMap::new();
    if let Ok(dir) = fs::read_dir("/proc") {
        for entry in dir.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u32>().ok())
            else {
                continue;
            };
            if let Some(stat) = read_stat(&format!("/proc/{pid}/stat")) {
                stats.insert(pid, stat);
            }
        }
    }
    for (role, pid) in roles {
        if let Some(stat) = stats.get(pid) {
            *seconds.entry((*role).to_owned()).or_default() += stat.own;
        }
    }
    for stat in stats.values() {
        let Some((_, name)) = BY_NAME.iter().find(|(comm, _)| *comm == stat.comm) else {
            continue;
        };
        let mut used = stat.own;
        // the postmaster (whose parent is not PostgreSQL) holds its exited backends' time
        let parent_same = stats.get(&stat.ppid).is_some_and(|p| p.comm == stat.comm);
        if *name == "postgres" && !parent_same {
            used += stat.children;
        }
        *seconds.entry((*name).to_owned()).or_default() += used;
    }
    // the generators the driver waited for (wrk, goose) and the driver itself
    let me = read_stat("/proc/self/stat");
    seconds.insert(
        "generator".into(),
        me.map(|s| s.own + s.children).unwrap_or(0.0),
    );
    seconds.insert("machine".into(), machine_seconds());
    Snapshot {
        at: Instant::now(),
        seconds,
    }
}

impl Snapshot {
    /// Moves the window's start back to `earlier`: groups `earlier` knew keep its values, groups
    /// it did not (a process started since) start from zero.
    pub fn carry_from(&mut self, earlier: &Snapshot) {
        for (k, v) in self.seconds.iter_mut() {
            *v = earlier.seconds.get(k).copied().unwrap_or(0.0);
        }
        self.at = earlier.at;
    }

    /// What was used between `self` and `later`.
    pub fn until(&self, later: &Snapshot) -> Usage {
        let seconds = later
            .seconds
            .iter()
            .map(|(k, v)| {
                let before = self.seconds.get(k).copied().unwrap_or(0.0);
                (k.clone(), (v - before).max(0.0))
            })
            .collect();
        Usage {
            seconds,
            wall_s: later.at.duration_since(self.at).as_secs_f64(),
        }
    }
}

impl Usage {
    /// Microseconds of CPU per event for every process group, `other` (the machine's busy time
    /// not in any named group) and `machine`.
    pub fn per_event(&self, events: u64) -> BTreeMap<String, f64> {
        let mut out = BTreeMap::new();
        if events == 0 {
            return out;
        }
        let per = |s: f64| round1(s / events as f64 * 1e6);
        let mut named = 0.0;
        for (k, v) in &self.seconds {
            if k != "machine" {
                named += v;
            }
            out.insert(k.clone(), per(*v));
        }
        let machine = self.seconds.get("machine").copied().unwrap_or(0.0);
        out.insert("other".into(), per((machine - named).max(0.0)));
        out
    }

    /// Cores a group kept busy on average over the window.
    pub fn cores(&self, group: &str) -> f64 {
        self.seconds.get(group).copied().unwrap_or(0.0) / self.wall_s.max(1e-9)
    }
}

pub fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// Waits (at most `limit`) until Jaeger, PostgreSQL and the driver's services are idle — less
/// than 5 % of a core each over one second — so a run does not share the machine with the
/// previous run's tail (Jaeger storing spans, PostgreSQL checkpointing). Every run rests this way,
/// whichever variant it measures. Returns the seconds it waited.
pub async fn rest(roles: &[(&str, u32)], limit: std::time::Duration) -> f64 {
    let started = Instant::now();
    while started.elapsed() < limit {
        let before = snapshot(roles);
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        let used = before.until(&snapshot(roles));
        let busy = used
            .seconds
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "machine" | "generator" | "kafka" | "redis"))
            .any(|(_, v)| *v >= 0.05);
        if !busy {
            break;
        }
    }
    started.elapsed().as_secs_f64()
}
