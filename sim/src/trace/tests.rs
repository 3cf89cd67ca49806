use super::*;
use crate::catalogue;
use crate::launch::simulate_catalogue;
use crate::world::World;

/// Every trace the engine writes, of every catalogue program however it ends, passes the
/// checks and reads back as it was saved, outcome included.
#[test]
fn every_engine_trace_validates_and_round_trips() {
    let variants: &[&[&str]] = &[&[], &["--eager-limit", "0"], &["-n", "7"], &["--strict"], &["--seed", "3"]];
    let mut runs = 0;
    for program in catalogue::programs() {
        for flags in variants {
            let args: Vec<String> = flags.iter().map(|s| s.to_string()).collect();
            let Ok((sim, header)) = simulate_catalogue(program, &args) else { continue };
            let trace = &sim.trace;
            trace.validate().unwrap_or_else(|e| panic!("{} {flags:?}: {e}", program.name));
            assert_eq!((trace.program.as_str(), &trace.params), (program.name, &header.params));
            let error = sim.outcome.as_ref().err();
            let text = trace.to_json_with_outcome(error, &sim.warnings);
            let saved =
                Trace::from_json_with_outcome(&text).unwrap_or_else(|e| panic!("{} {flags:?}: {e}", program.name));
            assert_eq!(&saved.trace, trace);
            assert_eq!(saved.error.as_ref(), error);
            assert_eq!(saved.warnings, sim.warnings);
            runs += 1;
        }
    }
    assert!(runs > 3 * catalogue::programs().len(), "only {runs} runs");
}

/// The 8-byte ring's saved trace, as a JSON value to edit.
fn ring() -> serde_json::Value {
    let program = catalogue::find("ring").unwrap();
    let (sim, _) = simulate_catalogue(program, &["--bytes".into(), "8".into()]).unwrap();
    serde_json::from_str(&sim.trace.to_json_with_outcome(None, &sim.warnings)).unwrap()
}

/// Editing the ring's trace with `edit` makes it fail with an error containing each of
/// `says`, never a panic.
#[track_caller]
fn check(edit: impl FnOnce(&mut serde_json::Value), says: &[&str]) {
    let mut value = ring();
    edit(&mut value);
    let err = Trace::from_json_with_outcome(&value.to_string()).expect_err("the edited trace is refused").to_string();
    for s in says {
        assert!(err.contains(s), "{err:?} does not say {s:?}");
    }
}

fn events(v: &mut serde_json::Value) -> &mut Vec<serde_json::Value> {
    v["events"].as_array_mut().unwrap()
}

/// The index of the first event of kind `kind` (on rank `rank`, if given).
fn first(v: &serde_json::Value, kind: &str, rank: Option<u64>) -> usize {
    v["events"]
        .as_array()
        .unwrap()
        .iter()
        .position(|e| e["kind"]["event"] == kind && rank.is_none_or(|r| e["rank"] == r))
        .unwrap_or_else(|| panic!("the ring has a {kind} event"))
}

#[test]
fn ranks_that_do_not_fit_are_refused_before_anything_is_allocated() {
    check(|v| v["ranks"] = 0.into(), &["`ranks` is 0", "at least one rank"]);
    check(|v| v["ranks"] = u64::MAX.into(), &["`ranks` is 18446744073709551615", "1048576 ranks"]);
    // Fewer ranks than the events use: the first event that names rank 2 or 3 is named
    // (rank 0's receive from rank 3, the ring's left neighbour).
    check(|v| v["ranks"] = 2.into(), &["malformed trace: event 5 (events[4], `post` on rank 0", "source is rank 3"]);
    check(|v| v["ranks"] = 2.into(), &["but the trace has 2 ranks (0–1)"]);
}

#[test]
fn a_message_to_a_rank_that_is_not_there_is_refused() {
    let send = first(&ring(), "send", None);
    check(
        |v| events(v)[send]["kind"]["dst"] = 77.into(),
        &[&format!("event {}", send + 1), "destination is rank 77", "4 ranks (0–3)"],
    );
    check(|v| events(v)[send]["rank"] = 77.into(), &["it happens on rank 77"]);
}

#[test]
fn messages_and_receives_must_be_consistent() {
    let v = ring();
    let (send, arrive, post, matched) =
        (first(&v, "send", None), first(&v, "arrive", None), first(&v, "post", None), first(&v, "match", None));
    check(|v| events(v)[arrive]["kind"]["msg"] = 999.into(), &["message 999 was never sent"]);
    check(|v| events(v)[matched]["kind"]["recv"] = 999.into(), &["receive 999 was never posted"]);
    check(
        |v| {
            let again = events(v)[matched].clone();
            events(v).insert(matched + 1, again);
        },
        &["already matched"],
    );
    check(
        |v| {
            let again = events(v)[send].clone();
            events(v).insert(send + 1, again);
        },
        &["already sent"],
    );
    check(
        |v| {
            let again = events(v)[post].clone();
            events(v).insert(post + 1, again);
        },
        &["already posted"],
    );
    let wrong = (v["events"][arrive]["kind"]["src"].as_u64().unwrap() + 1) % 4;
    check(|v| events(v)[arrive]["kind"]["src"] = wrong.into(), &[&format!("not from rank {wrong}")]);
}

#[test]
fn time_runs_forward_and_calls_nest() {
    let v = ring();
    let last = v["events"].as_array().unwrap().len() - 1;
    check(|v| events(v)[last]["time"] = 0.into(), &[&format!("event {}", last + 1), "before that of the event before"]);
    let leave = first(&v, "leave", None);
    check(|v| events(v)[leave]["kind"]["call"] = "bcast".into(), &["it leaves MPI_Bcast", "innermost call open"]);
    check(
        |v| {
            events(v).remove(leave);
        },
        &["returns while still in MPI_Send"],
    );
    check(
        |v| {
            let exit = first(v, "exit", Some(0));
            let again = events(v)[exit].clone();
            events(v).push(again);
        },
        &["already returned"],
    );
}

#[test]
fn an_outcome_naming_other_ranks_is_refused() {
    let sim = World::new(4).simulate(|c| catalogue::ring(c, 1 << 20, catalogue::RingOrder::Naive));
    let mut v: serde_json::Value =
        serde_json::from_str(&sim.trace.to_json_with_outcome(sim.outcome.as_ref().err(), &[])).unwrap();
    v["error"]["cycle"] = serde_json::json!([0, 1, 77]);
    let err = Trace::from_json_with_outcome(&v.to_string()).unwrap_err().to_string();
    assert!(err.contains("the deadlock report names rank 77"), "{err}");
}

#[test]
fn files_too_large_or_not_text_are_refused_with_sizes() {
    let dir = std::env::temp_dir().join(format!("mpisim-trace-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("ring.json");
    std::fs::write(&path, ring().to_string()).unwrap();
    let saved = Trace::load(&path, MAX_TRACE_FILE).unwrap();
    assert_eq!(saved.trace.program, "ring");
    let err = Trace::load(&path, 1024).unwrap_err().to_string();
    assert!(err.starts_with(&format!("{}: it is ", path.display())), "{err}");
    assert!(err.contains("more than the 1 KiB that mpisim reads") && err.contains("--max-size"), "{err}");
    // A huge file (sparse: nothing is written) is refused by its size, unread.
    let huge = dir.join("huge.json");
    std::fs::File::create(&huge).unwrap().set_len(3 << 30).unwrap();
    let err = Trace::load(&huge, MAX_TRACE_FILE).unwrap_err().to_string();
    assert!(err.contains("it is 3 GiB, more than the 1 GiB that mpisim reads"), "{err}");
    let err = Trace::load(Path::new("/dev/zero"), MAX_TRACE_FILE).unwrap_err().to_string();
    assert_eq!(err, "/dev/zero: not an mpisim trace: it is not text (byte 0 is NUL or not UTF-8)");
    let err = Trace::load(&dir.join("missing.json"), MAX_TRACE_FILE).unwrap_err().to_string();
    assert!(err.starts_with("cannot read "), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn older_schemas_are_refused_with_what_they_lack() {
    for (schema, lack) in [(1, "which receive took each message"), (2, "do not record the program")] {
        let mut v = ring();
        v["schema"] = schema.into();
        let err = Trace::from_json(&v.to_string()).unwrap_err().to_string();
        assert!(err.contains(&format!("trace schema {schema} is not supported")) && err.contains(lack), "{err}");
        assert!(err.contains("re-run the program with --trace"), "{err}");
    }
}
