//! The runner of the integration tests that drive their own `main` (`harness = false`,
//! so that the test binary can also be the program it tests): named checks, a filter, and
//! a report that reads like libtest's.

/// One named check: `Err` says what differed.
pub type Check = Box<dyn Fn() -> Result<(), String>>;

/// Runs the checks whose name contains `filter`, one after the other, prints each
/// outcome, and returns the exit code of the test binary (non-zero if one failed).
pub fn run(checks: Vec<(String, Check)>, filter: &str) -> i32 {
    let (mut passed, mut failed) = (0, 0);
    let checks: Vec<_> = checks.into_iter().filter(|(name, _)| name.contains(filter)).collect();
    println!("\nrunning {} tests", checks.len());
    for (name, check) in checks {
        match check() {
            Ok(()) => {
                passed += 1;
                println!("test {name} ... ok");
            }
            Err(why) => {
                failed += 1;
                println!("test {name} ... FAILED\n  {}", why.replace('\n', "\n  "));
            }
        }
    }
    println!("\n{passed} passed, {failed} failed");
    i32::from(failed > 0)
}
