//! The SMPI benchmark's parsing (sim/benches/smpi/parse.rs), tested without SimGrid: a
//! bench target with `harness = false` runs no tests of its own.

#[path = "../benches/smpi/parse.rs"]
mod parse;

use parse::*;

/// The end of a real SMPI 3.32 run's log, with `smpi/display-timing` on.
const SMPI_LOG: &str = "\
[0.000000] [smpi_coll/INFO] Switch to algorithm rdb for collective allreduce
[11.199373] [smpi_utils/INFO] Simulated time: 11.1994 seconds. 

The simulation took 32.7227 seconds (after parsing and platform setup)
0.309795 seconds were actual computation of the application
";

#[test]
fn smpi_time_prefers_the_clock_in_brackets() {
    assert_eq!(smpi_simulated_time(SMPI_LOG), Some(11.199373));
    let plain = "Simulated time: 0.00063776 seconds.\n";
    assert_eq!(smpi_simulated_time(plain), Some(0.00063776));
    assert_eq!(smpi_simulated_time("[0.000000] [xbt_cfg/INFO] nothing\n"), None);
}

#[test]
fn the_c_programs_line_parses() {
    let out = "ring-allreduce: ranks=1024 token=102400 sum=462438400.0\n";
    assert_eq!(c_result(out), Some((1024, Rank0 { token: 102_400, sum: 462_438_400.0 })));
    assert_eq!(c_result("ring-allreduce: ranks=4 token=x sum=1\n"), None);
    assert_eq!(c_result("hello\n"), None);
}

#[test]
fn mpisim_reports_parse_and_failures_are_said() {
    let json = r#"{"outcome":"completed","messages":16,"virtual_time_ns":1067840,"ranks":[{"rank":0,"result":{"sum":160.0,"token":8}}]}"#;
    let want = Simulated { time_ns: 1_067_840, messages: 16, rank0: Rank0 { token: 8, sum: 160.0 }, allocations: None };
    assert_eq!(mpisim_report(&format!("a printed line\n{json}\n")), Ok(want));
    let err = mpisim_report(r#"{"outcome":"deadlock"}"#).unwrap_err();
    assert!(err.contains("did not complete"), "{err}");
    assert!(mpisim_report("error: unknown platform\n").unwrap_err().contains("unknown platform"));
}

#[test]
fn child_lines_parse() {
    let out = "noise\nchild time_ns=5\tmessages=16\ttoken=8\tsum=160\tallocations=40\twall_ns=99\n";
    let want = Simulated { time_ns: 5, messages: 16, rank0: Rank0 { token: 8, sum: 160.0 }, allocations: Some(40) };
    assert_eq!(child_simulated(&child_fields(out)), Ok(want));
    let failed = child_fields("child error=deadlock at t = 0 ns\n");
    assert_eq!(child_simulated(&failed).unwrap_err(), "the child printed no time_ns: deadlock at t = 0 ns");
}

#[test]
fn settings_parse() {
    assert_eq!(numbers("1024, 4_096,"), Ok(vec![1024, 4096]));
    assert!(numbers("1024,lots").unwrap_err().contains("`lots`"));
    assert_eq!(Workload::parse("100,1024,100,8"), Ok(Workload::CLASSIC));
    assert!(Workload::parse("1,2").unwrap_err().contains("four numbers"));
    // The issue's figure: 1.13 million messages at 1,024 ranks, 5.3 million at 4,096.
    assert_eq!(Workload::CLASSIC.messages(1024), Some(1_126_400));
    assert_eq!(Workload::CLASSIC.messages(4096), Some(5_324_800));
    assert_eq!(Workload::CLASSIC.messages(12), None);
}

#[test]
fn both_sides_get_the_same_workload() {
    let w = Workload { laps: 3, bytes: 64, allreduces: 2, length: 5 };
    assert_eq!(w.c_args(), ["3", "64", "2", "5"]);
    assert_eq!(w.flags().join(" "), "--laps 3 --bytes 64 --allreduces 2 --length 5");
    // Every flag is a parameter of the catalogue program.
    let program = mpisim::catalogue::find("ring-allreduce").expect("in the catalogue");
    let pairs: Vec<(String, String)> =
        w.flags().chunks(2).map(|p| (p[0].trim_start_matches('-').to_string(), p[1].clone())).collect();
    let params = program.params(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))).expect("flags parse");
    assert_eq!([params.number("laps"), params.number("bytes"), params.number("allreduces")], [3, 64, 2]);
}

#[test]
fn medians() {
    assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
    assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
    assert_eq!(median(&[]), None);
}
