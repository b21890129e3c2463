//! Latency recording shared by the load generators: microsecond histograms and millisecond
//! figures for the reports.

use hdrhistogram::Histogram;

/// A histogram of microseconds, from 1 µs to 60 s at 3 significant digits.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("histogram bounds")
}

/// Microseconds as milliseconds.
pub fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

/// Records an elapsed time, counting anything under a microsecond as one.
pub fn record(hist: &mut Histogram<u64>, elapsed: std::time::Duration) {
    hist.record(elapsed.as_micros().max(1) as u64).ok();
}
