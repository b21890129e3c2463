//! Progress on the terminal: an overall bar and one line per running run (indicatif). When
//! stderr is not a terminal (CI logs), one plain line per finished run instead.

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use zebench_harness::batch::{BatchEvent, EventFn};
use zebench_harness::runner::ProgressFn;

pub struct Progress {
    multi: MultiProgress,
    overall: Option<ProgressBar>,
    single: Option<ProgressBar>,
    running: Arc<Mutex<HashMap<String, ProgressBar>>>,
    tty: bool,
}

fn spinner_style() -> ProgressStyle {
    ProgressStyle::with_template("{spinner} {elapsed:>4} {prefix} · {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
}

impl Progress {
    fn new() -> Progress {
        let tty = std::io::stderr().is_terminal();
        let multi = MultiProgress::with_draw_target(if tty {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        });
        Progress {
            multi,
            overall: None,
            single: None,
            running: Default::default(),
            tty,
        }
    }

    /// One run: a spinner naming the current step.
    pub fn single(label: &str) -> Progress {
        let mut p = Progress::new();
        let pb = p.multi.add(ProgressBar::new_spinner());
        pb.set_style(spinner_style());
        pb.set_prefix(label.to_string());
        pb.enable_steady_tick(Duration::from_millis(120));
        p.single = Some(pb);
        p
    }

    pub fn step_fn(&self) -> ProgressFn {
        let pb = self.single.clone();
        let tty = self.tty;
        Arc::new(move |step: &str| {
            if let Some(pb) = &pb {
                pb.set_message(step.to_string());
            }
            if !tty {
                eprintln!("zebench: step {step}");
            }
        })
    }

    /// A batch: the overall bar plus a line per running run.
    pub fn batch(total: u64) -> Progress {
        let mut p = Progress::new();
        let bar = p.multi.add(ProgressBar::new(total));
        bar.set_style(
            ProgressStyle::with_template(
                "[{elapsed_precise}] {bar:30} {pos}/{len} runs  eta {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        p.overall = Some(bar);
        p
    }

    pub fn event_fn(&self) -> EventFn {
        let multi = self.multi.clone();
        let overall = self.overall.clone();
        let running = self.running.clone();
        let tty = self.tty;
        Arc::new(move |ev: BatchEvent| match ev {
            BatchEvent::Started { run_id, label } => {
                let pb = multi.add(ProgressBar::new_spinner());
                pb.set_style(spinner_style());
                pb.set_prefix(label);
                pb.enable_steady_tick(Duration::from_millis(120));
                running.lock().unwrap().insert(run_id, pb);
            }
            BatchEvent::Step { run_id, step } => {
                if let Some(pb) = running.lock().unwrap().get(&run_id) {
                    pb.set_message(step);
                }
            }
            BatchEvent::Finished {
                run_id,
                label,
                line,
            } => {
                if let Some(pb) = running.lock().unwrap().remove(&run_id) {
                    pb.finish_and_clear();
                    multi.remove(&pb);
                }
                if let Some(o) = &overall {
                    o.inc(1);
                }
                if tty {
                    let _ = multi.println(format!("{label}: {line}"));
                } else {
                    eprintln!("{label}: {line}");
                }
            }
            BatchEvent::BudgetReached { spent_usd } => {
                let msg =
                    format!("--max-cost reached (${spent_usd:.4} spent): no new runs are started");
                if tty {
                    let _ = multi.println(msg);
                } else {
                    eprintln!("zebench: {msg}");
                }
            }
        })
    }

    pub fn finish(&self) {
        if let Some(pb) = &self.single {
            pb.finish_and_clear();
        }
        if let Some(pb) = &self.overall {
            pb.finish_and_clear();
        }
        let _ = self.multi.clear();
    }
}
