//! What the SMPI benchmark reads from the programs it runs, and its settings. Pure
//! functions, so that `sim/tests/smpi_bench.rs` can test them without SimGrid (a bench
//! with `harness = false` runs no `#[test]`).

use serde_json::Value;

/// The workload of one comparison, in the order the C program takes its arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Workload {
    /// Laps of the token around the ring.
    pub laps: u64,
    /// The token's size in bytes.
    pub bytes: u64,
    /// MPI_Allreduce calls after the ring.
    pub allreduces: u64,
    /// Doubles in each allreduce.
    pub length: u64,
}

impl Workload {
    /// SMPI's classic, as issue 14 has it: 100 laps of 1 KiB, 100 allreduces of 8 doubles.
    pub const CLASSIC: Workload = Workload { laps: 100, bytes: 1024, allreduces: 100, length: 8 };

    /// `laps,bytes,allreduces,length`, e.g. `100,1024,100,8`.
    pub fn parse(text: &str) -> Result<Workload, String> {
        let numbers: Vec<u64> = numbers(text)?;
        let [laps, bytes, allreduces, length] = numbers[..] else {
            return Err(format!(
                "`{text}` is not a workload: give four numbers, laps,bytes,allreduces,length (e.g. 100,1024,100,8)"
            ));
        };
        Ok(Workload { laps, bytes, allreduces, length })
    }

    /// The C program's arguments.
    pub fn c_args(&self) -> [String; 4] {
        [self.laps, self.bytes, self.allreduces, self.length].map(|n| n.to_string())
    }

    /// The catalogue program's parameters, as `mpisim run` takes them.
    pub fn flags(&self) -> Vec<String> {
        let [laps, bytes, allreduces, length] = self.c_args();
        ["--laps", &laps, "--bytes", &bytes, "--allreduces", &allreduces, "--length", &length]
            .map(String::from)
            .to_vec()
    }

    /// Messages the workload sends on `ranks` ranks (a power of two): a message per hop of the
    /// ring, and lg p exchanges per rank in each recursive-doubling allreduce.
    pub fn messages(&self, ranks: u64) -> Option<u64> {
        ranks.is_power_of_two().then(|| self.laps * ranks + self.allreduces * ranks * u64::from(ranks.ilog2()))
    }
}

/// A list of whole numbers separated by commas: `1024,4096`.
pub fn numbers(text: &str) -> Result<Vec<u64>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.replace('_', "").parse::<u64>().map_err(|_| format!("`{s}` in `{text}` is not a whole number")))
        .collect()
}

/// SMPI's simulated time in seconds, from what `--cfg=smpi/display-timing:yes` logs at the
/// end of a run: `[11.199373] [smpi_utils/INFO] Simulated time: 11.1994 seconds.` The clock
/// in brackets has microseconds; the figure after the words has six digits, so the
/// bracket is preferred when the log format has one.
pub fn smpi_simulated_time(log: &str) -> Option<f64> {
    let line = log.lines().find(|l| l.contains("Simulated time:"))?;
    let bracket = line.strip_prefix('[').and_then(|rest| rest.split_once(']')).and_then(|(t, _)| t.parse().ok());
    bracket.or_else(|| line.split("Simulated time:").nth(1)?.split_whitespace().next()?.parse().ok())
}

/// Rank 0's result as a run reports it: the token's last value and the allreduces' sum.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rank0 {
    /// The token's counter.
    pub token: u64,
    /// The sum of every allreduce result's elements.
    pub sum: f64,
}

/// The C program's line: `ring-allreduce: ranks=4 token=400 sum=160.0`.
pub fn c_result(stdout: &str) -> Option<(u64, Rank0)> {
    let line = stdout.lines().find_map(|l| l.trim().strip_prefix("ring-allreduce:"))?;
    let field =
        |name: &str| line.split_whitespace().find_map(|w| w.strip_prefix(name)?.strip_prefix('=')).map(str::to_string);
    let ranks = field("ranks")?.parse().ok()?;
    Some((ranks, Rank0 { token: field("token")?.parse().ok()?, sum: field("sum")?.parse().ok()? }))
}

/// What a simulated run of `ring-allreduce` says.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Simulated {
    /// Virtual time of the run, in nanoseconds.
    pub time_ns: u64,
    /// Simulated messages.
    pub messages: u64,
    /// Rank 0's result.
    pub rank0: Rank0,
    /// Heap allocations during the run, where a counting allocator saw them.
    pub allocations: Option<u64>,
}

/// The JSON report of `mpisim run ring-allreduce --format json` (the last line that parses:
/// a program's printed lines come before it).
pub fn mpisim_report(stdout: &str) -> Result<Simulated, String> {
    let report: Value = stdout
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .ok_or_else(|| format!("no JSON report in mpisim's output: {}", first_line(stdout)))?;
    if report["outcome"] != "completed" {
        return Err(format!("the run did not complete: {}", first_line(&report.to_string())));
    }
    let number = |v: &Value, what: &str| v.as_u64().ok_or_else(|| format!("the report has no {what}: {report}"));
    let result = &report["ranks"][0]["result"];
    Ok(Simulated {
        time_ns: number(&report["virtual_time_ns"], "virtual_time_ns")?,
        messages: number(&report["messages"], "messages")?,
        rank0: Rank0 {
            token: number(&result["token"], "token of rank 0")?,
            sum: result["sum"].as_f64().ok_or_else(|| format!("the report has no sum of rank 0: {report}"))?,
        },
        allocations: None,
    })
}

/// The line a child of the benchmark prints: `child key=value<TAB>key=value…`.
pub fn child_fields(stdout: &str) -> Vec<(String, String)> {
    let Some(line) = stdout.lines().find_map(|l| l.strip_prefix("child ")) else {
        return Vec::new();
    };
    line.split('\t').filter_map(|f| f.split_once('=')).map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// A child's [`Simulated`] figures, from its [`child_fields`].
pub fn child_simulated(fields: &[(String, String)]) -> Result<Simulated, String> {
    let get = |key: &str| {
        fields.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str()).ok_or_else(|| {
            let error = fields.iter().find(|(k, _)| k == "error").map_or("", |(_, v)| v.as_str());
            format!("the child printed no {key}{}", if error.is_empty() { String::new() } else { format!(": {error}") })
        })
    };
    let int = |key: &str| get(key)?.parse::<u64>().map_err(|e| format!("{key}: {e}"));
    Ok(Simulated {
        time_ns: int("time_ns")?,
        messages: int("messages")?,
        rank0: Rank0 { token: int("token")?, sum: get("sum")?.parse().map_err(|e| format!("sum: {e}"))? },
        allocations: int("allocations").ok(),
    })
}

/// The median of some measurements (the mean of the middle two of an even count).
pub fn median(values: &[f64]) -> Option<f64> {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(v[n / 2]),
        _ => Some((v[n / 2 - 1] + v[n / 2]) / 2.0),
    }
}

/// The first line of a text, cut to 300 characters, for an error message.
fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or("(empty)").chars().take(300).collect()
}
