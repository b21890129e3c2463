//! The capped patch text of a diff report.

/// The patch text, capped: once `max` would be exceeded, it is cut back (on a character
/// boundary, preferably at a line end) to leave room for a final note, and stops growing.
pub(super) struct Patch {
    text: String,
    max: usize,
    pub(super) truncated: bool,
}

impl Patch {
    pub(super) fn new(max: usize) -> Self {
        Patch {
            text: String::new(),
            max,
            truncated: false,
        }
    }

    fn note(&self) -> String {
        format!("[zebench: patch truncated at {} bytes]\n", self.max)
    }

    pub(super) fn push(&mut self, s: &str) {
        if self.truncated {
            return;
        }
        if self.text.len() + s.len() <= self.max {
            self.text.push_str(s);
            return;
        }
        self.truncated = true;
        let limit = self.max.saturating_sub(self.note().len() + 1);
        let room = limit.saturating_sub(self.text.len());
        let mut cut = floor_char_boundary(s, room);
        if let Some(nl) = s[..cut].rfind('\n') {
            if cut - nl <= 4096 {
                cut = nl + 1;
            }
        }
        self.text.push_str(&s[..cut]);
        if self.text.len() > limit {
            let at = floor_char_boundary(&self.text, limit);
            self.text.truncate(at);
        }
    }

    pub(super) fn finish(mut self) -> (String, bool) {
        if self.truncated {
            if !self.text.is_empty() && !self.text.ends_with('\n') {
                self.text.push('\n');
            }
            let note = self.note();
            self.text.push_str(&note);
        }
        (self.text, self.truncated)
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    if i >= s.len() {
        return s.len();
    }
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}
