//! [`Input`]: the line editor of the TUI: the line being typed, a cursor
//! on a char boundary, and a history that never keeps a password.

/// The line being typed, with a cursor and a history.
#[derive(Debug, Default, Clone)]
pub struct Input {
    text: String,
    /// Byte offset of the cursor, always on a char boundary.
    cursor: usize,
    history: Vec<String>,
    /// Position while browsing the history, and the draft put aside.
    browsing: Option<(usize, String)>,
}

/// Lines of input history kept.
const HISTORY_LIMIT: usize = 200;

impl Input {
    /// The text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The cursor's byte offset.
    pub fn cursor(&self) -> usize {
        self.cursor
    }

    /// Replaces the text, cursor at the end.
    pub fn set(&mut self, text: &str) {
        self.text = text.to_string();
        self.cursor = self.text.len();
        self.browsing = None;
    }

    /// Inserts a character at the cursor.
    pub fn insert(&mut self, c: char) {
        self.text.insert(self.cursor, c);
        self.cursor += c.len_utf8();
    }

    /// Deletes the character before the cursor.
    pub fn backspace(&mut self) {
        if let Some(c) = self.text[..self.cursor].chars().next_back() {
            self.cursor -= c.len_utf8();
            self.text.remove(self.cursor);
        }
    }

    /// Deletes the character under the cursor.
    pub fn delete(&mut self) {
        if self.cursor < self.text.len() {
            self.text.remove(self.cursor);
        }
    }

    /// Deletes the word before the cursor (and the spaces after it).
    pub fn delete_word(&mut self) {
        let before = &self.text[..self.cursor];
        let trimmed = before.trim_end();
        let start = trimmed.rfind(char::is_whitespace).map_or(0, |at| {
            at + trimmed[at..].chars().next().map_or(1, char::len_utf8)
        });
        self.text.replace_range(start..self.cursor, "");
        self.cursor = start;
    }

    /// Moves the cursor one character left.
    pub fn left(&mut self) {
        if let Some(c) = self.text[..self.cursor].chars().next_back() {
            self.cursor -= c.len_utf8();
        }
    }

    /// Moves the cursor one character right.
    pub fn right(&mut self) {
        if let Some(c) = self.text[self.cursor..].chars().next() {
            self.cursor += c.len_utf8();
        }
    }

    /// Moves the cursor to the start.
    pub fn home(&mut self) {
        self.cursor = 0;
    }

    /// Moves the cursor to the end.
    pub fn end(&mut self) {
        self.cursor = self.text.len();
    }

    /// Clears the line.
    pub fn clear(&mut self) {
        self.set("");
    }

    /// Takes the line for submitting; it goes into the history unless it
    /// holds a password.
    pub fn take(&mut self) -> String {
        let line = std::mem::take(&mut self.text);
        self.cursor = 0;
        self.browsing = None;
        if !line.trim().is_empty()
            && !crate::command::has_password(&line)
            && self.history.last() != Some(&line)
        {
            if self.history.len() == HISTORY_LIMIT {
                self.history.remove(0);
            }
            self.history.push(line.clone());
        }
        line
    }

    /// Shows the previous history line.
    pub fn history_prev(&mut self) {
        let at = match &self.browsing {
            Some((at, _)) => at.saturating_sub(1),
            None if self.history.is_empty() => return,
            None => {
                self.browsing = Some((self.history.len(), self.text.clone()));
                self.history.len() - 1
            }
        };
        self.show_history(at);
    }

    /// Shows the next history line, or the draft after the last.
    pub fn history_next(&mut self) {
        let Some((at, draft)) = &self.browsing else {
            return;
        };
        if at + 1 >= self.history.len() {
            let draft = draft.clone();
            self.set(&draft);
        } else {
            self.show_history(at + 1);
        }
    }

    fn show_history(&mut self, at: usize) {
        let draft = self
            .browsing
            .take()
            .map(|(_, d)| d)
            .unwrap_or_else(|| self.text.clone());
        self.text = self.history[at].clone();
        self.cursor = self.text.len();
        self.browsing = Some((at, draft));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_editing_and_history() {
        let mut input = Input::default();
        for c in "héllo".chars() {
            input.insert(c);
        }
        input.left();
        input.left();
        input.backspace();
        assert_eq!(input.text(), "hélo");
        input.home();
        input.delete();
        input.right();
        input.insert('x');
        assert_eq!(input.text(), "éxlo");
        input.end();
        assert_eq!(input.cursor(), input.text().len());
        input.set("one two  three");
        input.delete_word();
        assert_eq!(input.text(), "one two  ");
        input.delete_word();
        assert_eq!(input.text(), "one ");

        input.set("/enter 1");
        input.take();
        input.set("/login ann secret");
        input.take();
        input.set("hi");
        input.take();
        input.set("draft");
        input.history_prev();
        assert_eq!(input.text(), "hi");
        input.history_prev();
        assert_eq!(input.text(), "/enter 1", "the /login line is not kept");
        input.history_prev();
        assert_eq!(input.text(), "/enter 1");
        input.history_next();
        assert_eq!(input.text(), "hi");
        input.history_next();
        assert_eq!(input.text(), "draft");
    }
}
