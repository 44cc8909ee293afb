//! Tuning records: where the choice of `#[autotune]` or of the schedule search lives on disk
//! (`$XDG_CACHE_HOME/tk/tune/<hash>.txt`, one file per device, driver, program, kernel, key
//! values, `-D` consts and safety flag), and the small text format of each file:
//!
//! ```text
//! tk-tune 1
//! kernel softmax
//! config 0 {BLOCK = 1024, threads = 64} 812345.0
//! config 1 {BLOCK = 1024, threads = 256} failed: the device allows at most 128 invocations
//! choice 0
//! ```
//!
//! A search's record says `search` on the third line and lists the configs it timed; an
//! autotune record lists the attribute's configs, and is valid only while the attribute lists
//! the same ones.
use super::{literal_text, Autotune, Config, Tuned};
use crate::base::{Literal, SourceMap};
use crate::cache::{self, StableHasher};
use std::path::{Path, PathBuf};

/// The directory of tuning records: `$XDG_CACHE_HOME/tk/tune`.
pub fn default_dir() -> Option<PathBuf> {
    cache::cache_root().map(|root| root.join("tune"))
}

/// The file name of the tuning result for this device, program, kernel, key values and consts;
/// `search` keeps a search's record apart from the same kernel's `#[autotune]` record.
#[allow(clippy::too_many_arguments)]
pub fn record_name(
    device: &str,
    driver: &str,
    sources: &SourceMap,
    kernel: &str,
    key_values: &[String],
    base: &[(String, Literal)],
    safe: bool,
    search: bool,
) -> String {
    let mut hasher = StableHasher::new();
    hasher
        .field(device)
        .field(driver)
        .field(&cache::source_hash(sources))
        .field(kernel);
    for value in key_values {
        hasher.field(value);
    }
    for (name, value) in base {
        hasher.field(name).field(&literal_text(value));
    }
    hasher.field(if safe { "safe" } else { "unchecked" });
    if search {
        hasher.field("search");
    }
    format!("{}.txt", hasher.hex())
}

/// What a record holds.
struct Stored {
    search: bool,
    configs: Vec<Config>,
    tuned: Tuned,
}

/// Reads and parses a record; `None` when absent, malformed or made for another kernel.
fn read(path: &Path, kernel: &str) -> Option<Stored> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut lines = text.lines().peekable();
    if lines.next()? != "tk-tune 1" || lines.next()? != format!("kernel {kernel}") {
        return None;
    }
    let search = lines.next_if_eq(&"search").is_some();
    let mut configs = Vec::new();
    let mut times = Vec::new();
    let mut choice = None;
    for line in lines {
        if let Some(rest) = line.strip_prefix("config ") {
            let (index, rest) = rest.split_once(' ')?;
            if index.parse::<usize>().ok()? != configs.len() {
                return None;
            }
            let end = rest.find('}')? + 1;
            configs.push(Config::parse(&rest[..end])?);
            let rest = rest[end..].trim_start();
            times.push(match rest.strip_prefix("failed: ") {
                Some(why) => Err(why.to_string()),
                None => Ok(rest.parse::<f64>().ok()?),
            });
        } else if let Some(index) = line.strip_prefix("choice ") {
            choice = Some(index.parse::<usize>().ok()?);
        }
    }
    let choice = choice?;
    if !matches!(times.get(choice), Some(Ok(_))) {
        return None;
    }
    Some(Stored {
        search,
        configs,
        tuned: Tuned { times, choice },
    })
}

/// Reads an `#[autotune]` record; `None` when absent, malformed, a search's, or made for other
/// configs.
pub fn load(path: &Path, kernel: &str, autotune: &Autotune) -> Option<Tuned> {
    let stored = read(path, kernel)?;
    (!stored.search && stored.configs == autotune.configs).then_some(stored.tuned)
}

/// Reads a search's record: the configs it timed and what they measured; `None` when absent,
/// malformed or an autotune record.
pub fn load_search(path: &Path, kernel: &str) -> Option<(Vec<Config>, Tuned)> {
    let stored = read(path, kernel)?;
    stored.search.then_some((stored.configs, stored.tuned))
}

/// Writes a record atomically: `configs` with what `tuned` measured for each, `search` marking
/// a search's record.
pub fn save(
    path: &Path,
    kernel: &str,
    configs: &[Config],
    tuned: &Tuned,
    search: bool,
) -> std::io::Result<()> {
    let mut text = format!("tk-tune 1\nkernel {kernel}\n");
    if search {
        text.push_str("search\n");
    }
    for (index, (config, time)) in configs.iter().zip(&tuned.times).enumerate() {
        let time = match time {
            Ok(ns) => format!("{ns:.1}"),
            Err(why) => format!("failed: {}", why.replace('\n', " ")),
        };
        text.push_str(&format!("config {index} {config} {time}\n"));
    }
    text.push_str(&format!("choice {}\n", tuned.choice));
    cache::write_atomic(path, text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        std::env::temp_dir()
            .join(format!("tk-tune-record-{name}-{}", std::process::id()))
            .join("record.txt")
    }

    #[test]
    fn autotune_records_round_trip_and_reject_other_configs() {
        let autotune = Autotune {
            key: vec!["n".into()],
            configs: vec![
                Config {
                    consts: vec![("BLOCK".into(), Literal::Int(64))],
                    knobs: vec![("threads".into(), 32)],
                },
                Config {
                    consts: vec![("BLOCK".into(), Literal::Int(128))],
                    knobs: Vec::new(),
                },
            ],
        };
        let tuned = Tuned {
            times: vec![Ok(1500.0), Err("too big\nsecond line".into())],
            choice: 0,
        };
        let path = temp("autotune");
        save(&path, "k", &autotune.configs, &tuned, false).unwrap();
        let loaded = load(&path, "k", &autotune).unwrap();
        assert_eq!(loaded.choice, 0);
        assert_eq!(loaded.times[0], Ok(1500.0));
        assert_eq!(loaded.times[1], Err("too big second line".to_string()));
        assert!(load(&path, "other", &autotune).is_none());
        assert!(
            load_search(&path, "k").is_none(),
            "an autotune record is no search's"
        );
        let mut changed = autotune.clone();
        changed.configs[1].knobs = vec![("threads".into(), 64)];
        assert!(load(&path, "k", &changed).is_none());
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[test]
    fn search_records_keep_their_configs() {
        let configs = vec![
            Config {
                consts: vec![
                    ("BLOCK_M".into(), Literal::Int(64)),
                    ("SCALE".into(), Literal::Float(0.5)),
                    ("EVEN".into(), Literal::Bool(true)),
                ],
                knobs: vec![("threads".into(), 8)],
            },
            Config {
                consts: vec![("BLOCK_M".into(), Literal::Int(32))],
                knobs: vec![("threads".into(), 16)],
            },
        ];
        let tuned = Tuned {
            times: vec![Err("wrong results".into()), Ok(20.5)],
            choice: 1,
        };
        let path = temp("search");
        save(&path, "matmul", &configs, &tuned, true).unwrap();
        let (loaded, loaded_tuned) = load_search(&path, "matmul").unwrap();
        assert_eq!(loaded, configs);
        assert_eq!(loaded_tuned, tuned);
        let autotune = Autotune {
            key: Vec::new(),
            configs,
        };
        assert!(load(&path, "matmul", &autotune).is_none());
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }
}
