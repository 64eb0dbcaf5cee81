//! Limits on JSON that Pulse accepts, checked without parsing the JSON into a tree.
//!
//! PostgreSQL's `jsonb` refuses nesting past its stack (`stack depth limit exceeded`), so a body
//! nested deeper than [`MAX_JSON_DEPTH`] could never be stored: ingest refuses it at the door and
//! the processor dead-letters one that arrives anyway (an old record, a replay).

/// How deep a body may nest, counting the body object itself as level 1 (`serde_json`'s own
/// default recursion limit is the same size).
pub const MAX_JSON_DEPTH: usize = 128;

/// Whether `json` (assumed to be syntactically valid) nests deeper than `limit` levels of
/// objects and arrays.
///
/// Almost every body has fewer brackets in all than the limit, which a vectorised count shows
/// at a fraction of the cost of a parse; only bodies with more are walked byte by byte.
pub fn nesting_exceeds(json: &[u8], limit: usize) -> bool {
    let openings = json.iter().filter(|&&b| b == b'{' || b == b'[').count();
    if openings <= limit {
        return false;
    }
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in json {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > limit {
                    return true;
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(levels: usize) -> String {
        format!("{}{}", "[".repeat(levels), "]".repeat(levels))
    }

    #[test]
    fn counts_levels_of_objects_and_arrays() {
        assert!(!nesting_exceeds(nested(128).as_bytes(), 128));
        assert!(nesting_exceeds(nested(129).as_bytes(), 128));
        let objects = format!("{}1{}", r#"{"a":"#.repeat(200), "}".repeat(200));
        assert!(nesting_exceeds(objects.as_bytes(), 128));
    }

    #[test]
    fn brackets_inside_strings_do_not_count() {
        let body = format!(r#"{{"s":"{}","t":"\"[{{"}}"#, "[".repeat(500));
        assert!(!nesting_exceeds(body.as_bytes(), 2));
    }

    #[test]
    fn many_shallow_brackets_are_fine() {
        let body = format!("[{}]", vec!["{}"; 1000].join(","));
        assert!(!nesting_exceeds(body.as_bytes(), 2));
        assert!(nesting_exceeds(body.as_bytes(), 1));
    }
}
