//! Prints the FizzBuzz sequence from 1 to N (default 15), one word per line.

fn main() {
    let n = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(15);
    for word in fizzbuzz::sequence(n) {
        println!("{word}");
    }
}
