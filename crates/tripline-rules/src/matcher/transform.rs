//! Sticky-buffer transforms: `dotprefix`, `to_lowercase`, `strip_whitespace`.

use crate::buffer::Transform;

/// Applies `transforms` in order to `raw`, writing the result to `out`.
pub(crate) fn apply_transforms(transforms: &[Transform], raw: &[u8], out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(raw);
    for t in transforms {
        match t {
            Transform::DotPrefix => out.insert(0, b'.'),
            Transform::ToLowercase => out.make_ascii_lowercase(),
            Transform::StripWhitespace => out.retain(|b| !b.is_ascii_whitespace()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transforms_in_order() {
        let mut out = Vec::new();
        apply_transforms(
            &[
                Transform::StripWhitespace,
                Transform::ToLowercase,
                Transform::DotPrefix,
            ],
            b"Ex ample.COM",
            &mut out,
        );
        assert_eq!(out, b".example.com");
    }
}
