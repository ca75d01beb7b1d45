//! The bound on JSON bodies turned into trees (`Limits::max_json_body`,
//! `Limits::max_json_nodes`): a JSON body is measured before it is parsed, without
//! allocating, so that a hostile body of millions of tiny values (`[[],[],…]`) is refused
//! whole instead of costing tens of bytes per input byte in trees.

use crate::limits::Limits;

/// What one object costs in nodes: a map's allocations are about twenty times a value's
/// (measured: 16-byte-per-node arrays `[[],[],…]` cost about 75 bytes of RSS per node,
/// one-key objects `[{"a":1},…]` about 1.4 KB each).
pub const OBJECT_NODES: usize = 16;

/// The nodes of a JSON text as counted for `max_json_nodes`: one per `[`, `,` and `:`
/// outside strings and [`OBJECT_NODES`] per `{`, plus one. This is at least the number of
/// values and keys the tree holds (each member after the first is preceded by `,`, each
/// key by `:`, each container opens with a bracket), objects weighted by what they cost,
/// and is counted in one pass over the bytes. Counting stops past `stop` (the caller only
/// needs to know the limit is passed).
pub fn count_nodes(b: &[u8], stop: usize) -> usize {
    let mut n = 1usize;
    let mut in_str = false;
    let mut esc = false;
    for &c in b {
        if in_str {
            if esc {
                esc = false;
            } else if c == b'\\' {
                esc = true;
            } else if c == b'"' {
                in_str = false;
            }
            continue;
        }
        match c {
            b'"' => in_str = true,
            b'{' | b'[' | b',' | b':' => {
                n += if c == b'{' { OBJECT_NODES } else { 1 };
                if n > stop {
                    return n;
                }
            }
            _ => {}
        }
    }
    n
}

/// Why a JSON text is not turned into a tree, if it is past the limits (the text of the
/// frame's `limit` problem).
pub fn check(what: &str, b: &[u8], limits: &Limits) -> Result<(), String> {
    if b.len() > limits.max_json_body {
        return Err(format!(
            "{what} of {} bytes not parsed past max_json_body {}",
            b.len(),
            limits.max_json_body
        ));
    }
    let n = count_nodes(b, limits.max_json_nodes);
    if n > limits.max_json_nodes {
        return Err(format!(
            "{what} of {} bytes not parsed past max_json_nodes {} (more than {} nodes)",
            b.len(),
            limits.max_json_nodes,
            limits.max_json_nodes
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_values_and_keys_outside_strings() {
        assert_eq!(count_nodes(b"1", usize::MAX), 1);
        assert_eq!(count_nodes(b"[[],[],[]]", usize::MAX), 7);
        // object (16) + 2 keys + 2 values
        assert_eq!(count_nodes(br#"{"a":1,"b":2}"#, usize::MAX), 20);
        // Brackets, commas and colons inside strings (escaped quotes too) do not count.
        assert_eq!(count_nodes(br#"["a,[{:\"],", "x"]"#, usize::MAX), 3);
        assert_eq!(count_nodes(b"[,,,,,,,,,,]", 3), 4, "stops past the limit");
    }

    #[test]
    fn bodies_past_either_limit_are_refused_with_the_reason() {
        let l = Limits {
            max_json_body: 20,
            max_json_nodes: 4,
            ..Limits::default()
        };
        assert!(check("JSON body", b"[1,2,3]", &l).is_ok());
        assert_eq!(
            check("JSON body", b"[1,2,3,4]", &l).unwrap_err(),
            "JSON body of 9 bytes not parsed past max_json_nodes 4 (more than 4 nodes)"
        );
        assert_eq!(
            check("JSON body", br#""a long string value""#, &l).unwrap_err(),
            "JSON body of 21 bytes not parsed past max_json_body 20"
        );
    }
}
