//! FizzBuzz as a library.

/// The FizzBuzz word for `n`: "Fizz" for multiples of 3, "Buzz" for multiples of 5,
/// "FizzBuzz" for multiples of both, and otherwise the number itself.
pub fn fizzbuzz(n: u32) -> String {
    match (n % 3, n % 5) {
        (0, 0) => "FizzBuzz".to_string(),
        (0, _) => "Fizz".to_string(),
        (_, 0) => "Buzz".to_string(),
        _ => n.to_string(),
    }
}

/// The FizzBuzz words for 1 to `n`, both included.
pub fn sequence(n: u32) -> Vec<String> {
    (1..=n).map(fizzbuzz).collect()
}
