//! FizzBuzz as a library.

/// The FizzBuzz word for `n`: "Fizz" for multiples of 3, "Buzz" for multiples of 5,
/// "FizzBuzz" for multiples of both, and otherwise the number itself.
pub fn fizzbuzz(n: u32) -> String {
    if n % 3 == 0 {
        "Fizz".to_string()
    } else if n % 5 == 0 {
        "Buzz".to_string()
    } else if n % 15 == 0 {
        "FizzBuzz".to_string()
    } else {
        n.to_string()
    }
}

/// The FizzBuzz words for 1 to `n`, both included.
pub fn sequence(n: u32) -> Vec<String> {
    (0..n).map(fizzbuzz).collect()
}
