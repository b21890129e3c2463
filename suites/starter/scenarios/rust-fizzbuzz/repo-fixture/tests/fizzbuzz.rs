use fizzbuzz::{fizzbuzz, sequence};

#[test]
fn plain_numbers() {
    assert_eq!(fizzbuzz(1), "1");
    assert_eq!(fizzbuzz(7), "7");
    assert_eq!(fizzbuzz(98), "98");
}

#[test]
fn multiples_of_three() {
    assert_eq!(fizzbuzz(3), "Fizz");
    assert_eq!(fizzbuzz(9), "Fizz");
}

#[test]
fn multiples_of_five() {
    assert_eq!(fizzbuzz(5), "Buzz");
    assert_eq!(fizzbuzz(10), "Buzz");
}

#[test]
fn multiples_of_fifteen() {
    assert_eq!(fizzbuzz(15), "FizzBuzz");
    assert_eq!(fizzbuzz(30), "FizzBuzz");
    assert_eq!(fizzbuzz(45), "FizzBuzz");
}

#[test]
fn sequence_runs_from_one_to_n() {
    let s = sequence(15);
    assert_eq!(s.len(), 15);
    assert_eq!(s[0], "1");
    assert_eq!(s[2], "Fizz");
    assert_eq!(s[14], "FizzBuzz");
}

#[test]
fn empty_sequence() {
    assert!(sequence(0).is_empty());
}
