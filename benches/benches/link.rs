//! Uploads through a slow, distant link ([`resumable_benches::link`]): for
//! each rate (200 Mbit/s, 1 Gbit/s) and round trip (0, 20, 50, 100 ms),
//! the time of one plain `curl -T` PUT of the whole file to a fresh session
//! (the baseline), and beside it each driver's upload of the same file to
//! a fresh session in fixed 5 MiB chunks (the file API's recommendation),
//! fixed 8 MiB chunks, adaptive chunks starting at 5 MiB, and one request,
//! each as its time over the baseline's time measured in the same round.
//! Then the whole seed flow through the same link: `resumable upload` with
//! its defaults (adaptive chunks from the emulator's 5 MiB recommendation,
//! checkpoints in a state directory) against the seeds' recipe done with
//! curl (`upload-url`, one PUT, `register`), and the client CPU (user +
//! sys) per GiB of each.
//!
//! The drivers are handed the session's URL, as on a resume, so they ask
//! for its offset first: one round trip more than the baseline's PUT. The
//! seed flow compares like with like: three requests on each side.
//!
//! Each round runs the baseline, then every client once (in reverse order
//! on odd rounds, so a drift of the machine weighs on all alike); a cell is
//! the median of the rounds' ratios. The emulator keeps only sizes and
//! checksums (sink storage).
//!
//! `cargo bench -p resumable-benches --bench link`
//! (`LINK_BENCH_MIB=256 LINK_BENCH_RUNS=3` by default; `LINK_BENCH_RATES`
//! and `LINK_BENCH_RTTS`, comma-separated Mbit/s and ms, pick the points)

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use resumable_benches::link::{Link, LinkListener};
use resumable_benches::{env_u64, session_url};
use resumable_core::{AdaptiveLimits, Chunking, Config, SessionUrl};
use resumable_emulator::{Emulator, EmulatorHandle, Storage};

const KEY: &str = "bench-key";
const ORG: &str = "bench";
const MIB: u64 = 1 << 20;

/// One point of the link: the emulator behind its proxy.
struct Point {
    emu: EmulatorHandle,
    /// The API through the link.
    api: String,
}

impl Point {
    fn start(link: Link) -> Self {
        let proxy = LinkListener::bind(link).unwrap_or_else(|e| panic!("proxy: {e}"));
        let api = proxy.base_url().unwrap_or_else(|e| panic!("proxy: {e}"));
        let emu = Emulator::builder()
            .api_key(KEY)
            .storage(Storage::Sink)
            .upload_base_url(api.clone())
            .start_in_background()
            .unwrap_or_else(|e| panic!("emulator: {e}"));
        proxy.serve(emu.addr());
        Self { emu, api }
    }

    /// A fresh session for `size` bytes, asked for around the link: its
    /// URL goes through it.
    fn session(&self, size: u64) -> String {
        session_url(self.emu.base_url(), KEY, ORG, "link.bin", size)
    }
}

/// What a run of a client cost.
#[derive(Debug, Clone, Copy)]
struct Cost {
    wall: Duration,
    /// User + sys seconds of the client's processes, when it ran as some.
    cpu: Option<f64>,
}

/// `curl` (or `cli`) run under `/usr/bin/time`: its stdout, wall time and
/// user + sys seconds.
fn timed(program: &Path, args: &[&str], envs: &[(&str, &str)]) -> (String, Cost) {
    let times = tempfile::NamedTempFile::new().unwrap_or_else(|e| panic!("{e}"));
    let start = Instant::now();
    let output = Command::new("/usr/bin/time")
        .args(["-f", "%U %S", "-o"])
        .arg(times.path())
        .arg(program)
        .args(args)
        .envs(envs.iter().copied())
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", program.display()));
    let wall = start.elapsed();
    assert!(
        output.status.success(),
        "{} {args:?}: {}\n{}",
        program.display(),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let text = std::fs::read_to_string(times.path()).unwrap_or_default();
    let cpu = text
        .lines()
        .last()
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|s| s.parse::<f64>().ok())
        .sum();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    (
        stdout,
        Cost {
            wall,
            cpu: Some(cpu),
        },
    )
}

/// curl's own measure of its transfer (`%{time_total}`), for the baseline:
/// no process start in it, as in the drivers' in-process runs.
fn curl_put(url: &str, path: &Path, size: u64) -> (String, Cost) {
    let range = format!("content-range: bytes 0-{}/{size}", size - 1);
    let file = path.to_string_lossy();
    timed(
        Path::new("curl"),
        &[
            "-sS",
            "--fail",
            "-X",
            "PUT",
            "-T",
            &file,
            "-H",
            "expect:",
            "-H",
            &range,
            "-o",
            "/dev/null",
            "-w",
            "%{time_total}",
            url,
        ],
        &[],
    )
}

fn baseline(point: &Point, path: &Path, size: u64) -> Cost {
    let url = point.session(size);
    let (total, cost) = curl_put(&url, path, size);
    let secs: f64 = total
        .trim()
        .parse()
        .unwrap_or_else(|e| panic!("curl time {total:?}: {e}"));
    Cost {
        wall: Duration::from_secs_f64(secs),
        ..cost
    }
}

fn config(point: &Point, size: u64) -> Config {
    Config::gcs_session(SessionUrl::new(point.session(size)), Some(size))
}

fn blocking(point: &Point, path: &Path, size: u64, chunking: Chunking) -> Cost {
    let config = config(point, size);
    let mut source = resumable_blocking::FileSource::open(path).unwrap_or_else(|e| panic!("{e}"));
    let start = Instant::now();
    resumable_blocking::Uploader::new()
        .chunking(chunking)
        .run(config, &mut source, None)
        .unwrap_or_else(|e| panic!("{e}"));
    Cost {
        wall: start.elapsed(),
        cpu: None,
    }
}

fn tokio(
    rt: &tokio::runtime::Runtime,
    point: &Point,
    path: &Path,
    size: u64,
    chunking: Chunking,
) -> Cost {
    let config = config(point, size);
    rt.block_on(async {
        let mut source = resumable_tokio::FileSource::open(path)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let start = Instant::now();
        resumable_tokio::Uploader::new()
            .chunking(chunking)
            .run(config, &mut source, None)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        Cost {
            wall: start.elapsed(),
            cpu: None,
        }
    })
}

/// `resumable upload FILE` with its defaults, through the link.
fn cli(bin: &Path, point: &Point, path: &Path) -> Cost {
    let state = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = path.to_string_lossy();
    let state_dir = state.path().to_string_lossy();
    let (_, cost) = timed(
        bin,
        &[
            "upload",
            &file,
            "--org",
            ORG,
            "--api-url",
            &point.api,
            "--state-dir",
            &state_dir,
            "--quiet",
            "--json",
        ],
        &[("FREDDY_API_KEY", KEY)],
    );
    cost
}

/// The seeds' recipe with curl, through the link: `upload-url`, one PUT of
/// the whole file, `register`.
fn recipe(point: &Point, path: &Path, size: u64) -> Cost {
    let key = format!("x-api-key: {KEY}");
    let post = |url: &str, body: &str| {
        timed(
            Path::new("curl"),
            &[
                "-sS",
                "--fail",
                "-X",
                "POST",
                "-H",
                &key,
                "-H",
                "content-type: application/json",
                "--data-binary",
                body,
                url,
            ],
            &[],
        )
    };
    let start = Instant::now();
    let (session, first) = post(
        &format!("{}/v1/organizations/{ORG}/files/upload-url", point.api),
        &format!(
            r#"{{"filename":"seed.bin","file_size":{size},"mime_type":"application/octet-stream"}}"#
        ),
    );
    let session: serde_json::Value =
        serde_json::from_str(&session).unwrap_or_else(|e| panic!("upload-url: {e}"));
    let field = |name: &str| {
        session[name]
            .as_str()
            .unwrap_or_else(|| panic!("no {name} in {session}"))
            .to_owned()
    };
    let (_, put) = curl_put(&field("upload_url"), path, size);
    let (_, register) = post(
        &format!("{}/v1/organizations/{ORG}/files", point.api),
        &format!(
            r#"{{"filename":"seed.bin","gcs_path":"{}","file_size":{size},"mime_type":"application/octet-stream"}}"#,
            field("gcs_path")
        ),
    );
    let cpu = [first, put, register].iter().filter_map(|c| c.cpu).sum();
    Cost {
        wall: start.elapsed(),
        cpu: Some(cpu),
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

fn list(name: &str, default: &str) -> Vec<u64> {
    std::env::var(name)
        .unwrap_or_else(|_| default.to_owned())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect()
}

/// The release `resumable` binary of this workspace, built now.
fn cli_binary() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--release", "-q", "-p", "resumable-cli"])
        .current_dir(&root)
        .status()
        .unwrap_or_else(|e| panic!("cargo build: {e}"));
    assert!(status.success(), "cargo build -p resumable-cli: {status}");
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    target.join("release/resumable")
}

type Case<'a> = (String, Box<dyn Fn() -> Cost + 'a>);

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let mib = env_u64("LINK_BENCH_MIB", 256);
    let runs = env_u64("LINK_BENCH_RUNS", 3).max(1);
    let rates = list("LINK_BENCH_RATES", "200,1000");
    let rtts = list("LINK_BENCH_RTTS", "0,20,50,100");
    let size = mib * MIB;
    let bin = cli_binary();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("link.bin");
    {
        let mut f = BufWriter::new(File::create(&path).unwrap_or_else(|e| panic!("{e}")));
        let block: Vec<u8> = (0..1u32 << 20)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 7) as u8)
            .collect();
        for _ in 0..mib {
            f.write_all(&block).unwrap_or_else(|e| panic!("{e}"));
        }
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let chunkings = [
        ("fixed 5 MiB", Chunking::Fixed(5 * MIB)),
        ("fixed 8 MiB", Chunking::Fixed(8 * MIB)),
        (
            "adaptive from 5 MiB",
            Chunking::Adaptive(AdaptiveLimits {
                start: Some(5 * MIB),
                ..AdaptiveLimits::default()
            }),
        ),
        ("single request", Chunking::SingleRequest),
    ];
    let mut columns = Vec::new();
    // Per row: its name, then per column the median ratio.
    let mut rows: Vec<(String, Vec<f64>)> = Vec::new();
    let mut cpu_rows: Vec<(String, Vec<f64>)> = Vec::new();
    let gib = size as f64 / f64::from(1u32 << 30);
    for &rate in &rates {
        for &rtt in &rtts {
            let link = Link::new(rate, rtt);
            let point = Point::start(link);
            let mut cases: Vec<Case> = Vec::new();
            for (name, chunking) in chunkings {
                let (point, path) = (&point, &path);
                cases.push((
                    format!("blocking, {name}"),
                    Box::new(move || blocking(point, path, size, chunking)),
                ));
            }
            for (name, chunking) in chunkings {
                let (point, path, rt) = (&point, &path, &rt);
                cases.push((
                    format!("tokio, {name}"),
                    Box::new(move || tokio(rt, point, path, size, chunking)),
                ));
            }
            let mut ratios = vec![Vec::new(); cases.len()];
            let mut base_secs = Vec::new();
            let (mut flow, mut flow_cpu, mut curl_cpu) = (Vec::new(), Vec::new(), Vec::new());
            for round in 0..runs {
                let base = baseline(&point, &path, size).wall.as_secs_f64();
                base_secs.push(base);
                let mut order: Vec<usize> = (0..cases.len()).collect();
                if round % 2 == 1 {
                    order.reverse();
                }
                for i in order {
                    let took = (cases[i].1)().wall.as_secs_f64();
                    ratios[i].push(took / base);
                }
                let (ours, theirs) = if round % 2 == 0 {
                    let ours = cli(&bin, &point, &path);
                    (ours, recipe(&point, &path, size))
                } else {
                    let theirs = recipe(&point, &path, size);
                    (cli(&bin, &point, &path), theirs)
                };
                flow.push(ours.wall.as_secs_f64() / theirs.wall.as_secs_f64());
                flow_cpu.push(ours.cpu.unwrap_or_default() / gib);
                curl_cpu.push(theirs.cpu.unwrap_or_default() / gib);
            }
            let base = median(base_secs);
            let column = format!("{rate} Mbit/s, {rtt} ms");
            println!(
                "{column}: baseline {base:.2} s ({:.0} Mbit/s)",
                size as f64 * 8.0 / base / 1e6
            );
            for (i, (name, _)) in cases.iter().enumerate() {
                let m = median(ratios[i].clone());
                println!("  {name:<34} {m:>6.3}x the baseline's time");
                push(&mut rows, name, columns.len(), m);
            }
            let m = median(flow);
            println!(
                "  {:<34} {m:>6.3}x the recipe's time",
                "seed flow: resumable upload"
            );
            push(
                &mut rows,
                "seed flow: `resumable upload` / curl recipe",
                columns.len(),
                m,
            );
            let (ours, theirs) = (median(flow_cpu), median(curl_cpu));
            println!("  CPU per GiB: resumable {ours:.2} s, curl {theirs:.2} s");
            push(&mut cpu_rows, "`resumable upload`", columns.len(), ours);
            push(&mut cpu_rows, "curl recipe", columns.len(), theirs);
            columns.push(column);
        }
    }
    println!();
    println!("time over the baseline's (one `curl -T` PUT), {mib} MiB, median of {runs} rounds:");
    table("client", &columns, &rows, 3);
    println!();
    println!("client CPU (user + sys) seconds per GiB, seed flow, median of {runs} rounds:");
    table("client", &columns, &cpu_rows, 2);
}

fn push(rows: &mut Vec<(String, Vec<f64>)>, name: &str, column: usize, value: f64) {
    let i = rows.iter().position(|(n, _)| n == name).unwrap_or_else(|| {
        rows.push((name.to_owned(), Vec::new()));
        rows.len() - 1
    });
    let row = &mut rows[i].1;
    row.resize(column, f64::NAN);
    row.push(value);
}

fn table(corner: &str, columns: &[String], rows: &[(String, Vec<f64>)], digits: usize) {
    println!("| {corner} | {} |", columns.join(" | "));
    println!("|---|{}", "---|".repeat(columns.len()));
    for (name, values) in rows {
        let cells: Vec<String> = values.iter().map(|v| format!("{v:.digits$}")).collect();
        println!("| {name} | {} |", cells.join(" | "));
    }
}
