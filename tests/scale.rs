//! `mpisim scale`: speedup against Amdahl's law, POP's efficiencies, the outputs (table
//! with its chart, JSON, CSV, SVG, the terminal UI's chart) and bad input; and the
//! catalogue's compute models, whose answers do not depend on the number of ranks.

use insta::assert_snapshot;
use mpisim::catalogue;
use mpisim::speedup::{self, Scaling};
use mpisim::World;
use mpisim_tui::view::speedup::Speedup;
use mpisim_tui::Theme;
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use serde_json::Value;

/// `mpisim scale ARGS…`: (exit code, standard output, standard error).
fn scale(args: &[&str]) -> (i32, String, String) {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = mpisim_tui::scale::run(&args, &mut out, &mut err);
    (code, String::from_utf8(out).unwrap(), String::from_utf8(err).unwrap())
}

#[track_caller]
fn scale_json(args: &[&str]) -> Value {
    let mut args = args.to_vec();
    args.extend(["--format", "json"]);
    let (code, out, err) = scale(&args);
    assert_eq!(code, 0, "{err}");
    assert_eq!(err, "", "no progress bar or note off a terminal");
    serde_json::from_str(&out).unwrap()
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("{v} is not a number"))
}

fn rows(report: &Value) -> &Vec<Value> {
    report["rows"].as_array().unwrap()
}

#[test]
fn amdahl_on_the_ideal_network_is_amdahls_law() {
    let report = scale_json(&["amdahl", "-n", "1,2,4,8,16,32", "--serial", "0.1", "--platform", "ideal"]);
    let fit = &report["amdahl"];
    assert!((f(&fit["serial"]) - 0.1).abs() < 0.001, "{fit}");
    assert!((f(&fit["bound"]) - 10.0).abs() < 0.1, "{fit}");
    let rows = rows(&report);
    let s16 = f(&rows[4]["speedup"]);
    let law = 1.0 / (0.1 + 0.9 / 16.0);
    assert!((s16 / law - 1.0).abs() < 0.005, "S(16) = {s16}, Amdahl says {law}");
    let kf: Vec<f64> = rows[1..].iter().map(|r| f(&r["karp_flatt"])).collect();
    assert!(kf.iter().all(|e| (e - 0.1).abs() < 1e-4), "Karp–Flatt is constant: {kf:?}");
    assert_eq!(rows[0]["karp_flatt"], Value::Null, "Karp–Flatt needs N > 1");
    for row in rows {
        let (pop, m) = (&row["pop"], &row["measure"]);
        let (lb, ser, trf, comm) =
            (f(&pop["load_balance"]), f(&pop["serialisation"]), f(&pop["transfer"]), f(&pop["communication"]));
        assert_eq!(comm, ser * trf, "communication = serialisation × transfer, exactly: {row}");
        assert_eq!(f(&pop["parallel"]), lb * comm, "{row}");
        // The same ratios from the integer times: max/T_ideal · T_ideal/T = max/T.
        let (t, ideal, max) = (f(&m["time_ns"]), f(&m["ideal_time_ns"]), f(&m["useful_max_ns"]));
        assert!((ser - max / ideal).abs() < 1e-15 && (trf - ideal / t).abs() < 1e-15, "{row}");
        assert!((comm - max / t).abs() < 1e-15, "{row}");
        // The ideal network loses nothing: what is lost is rank 0's serial part.
        assert_eq!((ser, trf), (1.0, 1.0), "{row}");
        let n = f(&row["ranks"]);
        // Rank 0 computes 0.1 + 0.9/N of the work, the mean rank 1/N.
        assert!((lb - (1.0 / n) / (0.1 + 0.9 / n)).abs() < 1e-6, "{row}");
    }
    assert!(report["findings"].as_array().unwrap().iter().any(|f| f.as_str().unwrap().contains("load imbalance")));
}

#[test]
fn on_the_default_platform_communication_adds_to_the_serial_fraction() {
    let report = scale_json(&["amdahl", "-n", "1,2,4,8,16,32", "--serial", "0.1"]);
    let rows = rows(&report);
    let kf: Vec<f64> = rows[1..].iter().map(|r| f(&r["karp_flatt"])).collect();
    assert!(kf.windows(2).all(|w| w[1] > w[0]), "Karp–Flatt grows with N: {kf:?}");
    assert!(kf[0] > 0.1, "{kf:?}");
    for row in &rows[1..] {
        let pop = &row["pop"];
        assert!(f(&pop["transfer"]) < 1.0, "the network costs time: {row}");
        assert_eq!(f(&pop["communication"]), f(&pop["serialisation"]) * f(&pop["transfer"]), "{row}");
    }
    assert!(f(&report["amdahl"]["serial"]) > 0.1);
    assert_eq!(report["platform"], "default");
    assert_eq!(report["completed"], true);
}

#[test]
fn parallel_map_stops_scaling_and_says_why() {
    let (code, out, err) = scale(&["parallel-map", "-n", "1..64"]);
    assert_eq!((code, err.as_str()), (0, ""));
    assert!(out.contains("· speedup stops growing: N = 32 → 64"), "{out}");
    assert!(out.contains("transfer loses the most time"), "{out}");
    assert_snapshot!("parallel_map_table", out);
}

#[test]
fn the_text_table_and_its_chart() {
    let (code, out, _) = scale(&["amdahl", "-n", "1..32", "--serial", "0.05"]);
    assert_eq!(code, 0);
    assert_snapshot!("amdahl_table", out);
}

#[test]
fn weak_scaling_grows_the_parameter_and_fits_gustafson() {
    let report = scale_json(&["parallel-map", "-n", "1..16", "--weak", "items", "--items", "20000"]);
    assert_eq!(report["scaling"], "weak");
    assert_eq!(report["weak"], "items");
    let rows = rows(&report);
    // Each rank keeps its 20 000 items: the time grows only by the allreduce's lg N steps.
    let t1 = f(&rows[0]["measure"]["time_ns"]);
    assert_eq!(t1, 20_000.0);
    let t16 = f(&rows[4]["measure"]["time_ns"]);
    assert!(t16 > t1 + 4_000.0 && t16 < t1 + 5_000.0, "{t16}");
    assert_eq!(f(&rows[4]["weak_efficiency"]), t1 / t16);
    assert_eq!(f(&rows[4]["scaled_speedup"]), 16.0 * t1 / t16);
    assert_eq!(rows[4]["speedup"], Value::Null, "strong-scaling figures are not made up");
    let s = f(&report["gustafson"]["serial"]);
    assert!(s > 0.0 && s < 0.2, "{s}");
    assert_eq!(report["amdahl"], Value::Null);
    let (_, text, _) = scale(&["parallel-map", "-n", "1..16", "--weak", "items", "--items", "20000"]);
    assert!(text.contains("--items 20000 (× N/N₀)") && text.contains("Gustafson fit: s = "), "{text}");
}

#[test]
fn csv_has_a_line_per_size() {
    let (code, out, _) = scale(&["ring", "-n", "1,2,4", "--bytes", "8", "--format", "csv"]);
    assert_eq!(code, 2, "N = 1 cannot run a ring");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    let columns = lines[0].split(',').count();
    assert!(lines[0].starts_with("ranks,outcome,time_ns,ideal_time_ns,"));
    let refused: Vec<&str> = lines[1].split(',').collect();
    assert_eq!(refused.len(), columns);
    assert_eq!(refused[..6], ["1", "refused", "", "", "", ""], "no times for a size that did not run");
    assert_eq!(refused[columns - 1], "\"ring needs at least 2 ranks\"");
    for line in &lines[2..] {
        assert_eq!(line.split(',').count(), columns, "{line}");
        assert!(line.contains(",completed,"), "{line}");
    }
}

#[test]
fn the_svg_plot_is_valid_svg_with_its_series() {
    let path = std::env::temp_dir().join(format!("mpisim-scale-{}.svg", std::process::id()));
    let (code, _, err) = scale(&["amdahl", "-n", "1..64", "--svg", path.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    let doc = roxmltree::Document::parse(&text).expect("the plot is well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    let texts: Vec<&str> =
        doc.descendants().filter(|n| n.has_tag_name("text")).filter_map(|n| n.text()).map(str::trim).collect();
    for label in ["ideal S = N", "simulated", "efficiency S/N", "load balance", "serialisation", "transfer", "ranks N"]
    {
        assert!(texts.iter().any(|t| t.contains(label)), "no {label:?} in {texts:?}");
    }
    assert!(texts.iter().any(|t| t.starts_with("Amdahl s = 0.1")), "{texts:?}");
    let lines = doc.descendants().filter(|n| n.has_tag_name("polyline")).count();
    assert!(lines >= 7, "the speedup, ideal and fit lines and four efficiency lines: {lines}");
    let dots = doc.descendants().filter(|n| n.has_tag_name("circle")).count();
    assert!(dots >= 7 * 5, "a dot per size for each measured series: {dots}");
}

#[test]
fn the_chart_as_a_screen_of_the_terminal_ui() {
    let points = speedup::sweep(
        &[1, 2, 4, 8, 16, 32, 64],
        |n| Ok((World::new(n), |comm: &mpisim::Comm| catalogue::amdahl(comm, 0.05, 1000))),
        |_| {},
    );
    let study = speedup::analyse(&points, Scaling::Strong);
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    let title = "amdahl --serial 0.05 --work 1000 · N = 1–64 · default";
    terminal
        .draw(|frame| Speedup { title, study: &study }.render(Theme::MONO, frame.area(), frame.buffer_mut()))
        .unwrap();
    let screen = terminal.backend().to_string();
    assert!(screen.contains("Amdahl fit: s = 0.0"), "{screen}");
    assert_snapshot!("tui_chart", screen);
}

#[track_caller]
fn check_refused(args: &[&str], code: i32, message: &str) {
    let (got, out, err) = scale(args);
    assert_eq!(got, code, "{args:?}: {err}");
    assert!(err.contains(message), "{args:?}: {err}");
    assert!(!err.contains("panicked"), "{err}");
    if code == 2 {
        assert_eq!(out, "", "a usage error prints no table");
    }
}

#[test]
fn bad_input_is_a_usage_error() {
    check_refused(&["amdahl", "-n", ""], 2, "-n : an empty size");
    check_refused(&["amdahl", "-n", "4,2,8"], 2, "the sizes must increase, but 2 comes after 4");
    check_refused(&["amdahl", "-n", "0,1,2"], 2, "N = 0 is not a number of ranks");
    check_refused(&["amdahl", "-n", "64..1"], 2, "runs backwards");
    check_refused(&["amdahl"], 2, "--ranks <LIST>");
    check_refused(&["-n", "1,2"], 2, "<PROGRAM>");
    check_refused(&["nosuch", "-n", "1"], 2, "unknown program `nosuch`; the catalogue has hello");
    check_refused(&["amdahl", "-n", "1", "--serial", "2"], 2, "amdahl --serial: `2` is not a fraction from 0 to 1");
    check_refused(&["amdahl", "-n", "1", "--weak", "serial"], 2, "--serial is not a number that can grow with N");
    check_refused(
        &["amdahl", "-n", "1", "--weak", "size"],
        2,
        "has no parameter --size; its numeric parameters: --work",
    );
    check_refused(&["amdahl", "-n", "1", "--trace", "t.json"], 2, "a sweep runs with the trace off");
    check_refused(&["amdahl", "-n", "1", "--explore", "3"], 2, "a sweep runs the default schedule");
    check_refused(&["amdahl", "-n", "1", "--format", "xml"], 2, "invalid value 'xml' for '--format <FORMAT>'");
    check_refused(&["amdahl", "-n", "1", "--repeat", "0"], 2, "--repeat <K>");
    check_refused(&["amdahl", "-n", "1", "--platform", "moon"], 2, "unknown platform `moon`");
    if !mpisim::real::AVAILABLE {
        check_refused(&["amdahl", "-n", "1", "--real"], 2, "cargo build --release --features mpi");
    }
    let (code, out, _) = scale(&["--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("Usage: mpisim scale [OPTIONS] --ranks <LIST> <PROGRAM>"), "{out}");
}

#[test]
fn a_size_that_fails_gets_one_line_and_the_rest_of_the_table() {
    // A ring of 1 MiB messages in naive order deadlocks at every size; one rank is too few.
    let (code, out, _) = scale(&["ring", "-n", "1,2,4", "--bytes", "1MiB"]);
    assert_eq!(code, 3, "the exit code says a size deadlocked");
    assert!(out.contains("      1   refused: ring needs at least 2 ranks\n"), "{out}");
    assert!(
        out.contains(
            "      4   deadlock: deadlock at t = 0 ns: 4 ranks blocked, none can proceed; cycle 0 → 1 → 2 → 3 → 0\n"
        ),
        "{out}"
    );
    // A size beyond what mpisim can number fails alone; the others keep their figures (N = 2:
    // 100 µs serial, a bcast and an allreduce of 1.003 µs each, 450 µs of parallel work).
    let (code, out, _) = scale(&["amdahl", "-n", "1,2,5000000000"]);
    assert_eq!(code, 2);
    assert!(out.contains("5000000000   error: 5000000000 ranks is more than mpisim can number\n"), "{out}");
    assert!(out.contains("      2   552.006 µs     1.81"), "{out}");
    let report = scale_json_code(&["amdahl", "-n", "1,2,5000000000"], 2);
    assert_eq!(report["completed"], false);
    assert_eq!(report["rows"][2]["failure"]["outcome"], "error");
    assert_eq!(report["rows"][1]["failure"], Value::Null);
}

#[track_caller]
fn scale_json_code(args: &[&str], want: i32) -> Value {
    let mut args = args.to_vec();
    args.extend(["--format", "json"]);
    let (code, out, err) = scale(&args);
    assert_eq!(code, want, "{err}");
    serde_json::from_str(&out).unwrap()
}

#[test]
fn the_answers_do_not_depend_on_the_number_of_ranks() {
    let answers = |n: usize| {
        let run = |p: fn(&mpisim::Comm) -> Value| World::new(n).record_trace(false).run(p).unwrap().results[0].clone();
        [
            run(|c| serde_json::json!(catalogue::parallel_map(c, 10_000))),
            run(|c| serde_json::json!(catalogue::parallel_sum(c, 100_000))),
            run(|c| serde_json::json!(catalogue::master_worker(c, 10_000))),
            run(|c| serde_json::json!(catalogue::amdahl(c, 0.3, 500))),
            run(|c| serde_json::to_value(catalogue::kmeans(c, 500, 3, 5, 8)).unwrap()),
        ]
    };
    let one = answers(1);
    assert_eq!(one[1], serde_json::json!(100_000u64 * 99_999 / 2));
    assert_eq!(one[3], serde_json::json!(500_000));
    for n in [2, 3, 5, 8, 13, 32] {
        assert_eq!(answers(n), one, "on {n} ranks");
    }
}

#[test]
fn kmeans_shares_its_restarts_and_idles_ranks_beyond_them() {
    let report = scale_json(&["kmeans", "-n", "1..32", "--restarts", "8", "--points", "500"]);
    let rows = rows(&report);
    let lb: Vec<f64> = rows.iter().map(|r| f(&r["pop"]["load_balance"])).collect();
    assert_eq!(lb, [1.0, 1.0, 1.0, 1.0, 0.5, 0.25], "8 restarts on 16 and 32 ranks");
    let s8 = f(&rows[3]["speedup"]);
    assert!(s8 > 7.0, "the restarts are the work: {s8}");
    assert!(f(&rows[5]["speedup"]) < s8 * 1.01, "no speedup beyond 8 ranks");
}
