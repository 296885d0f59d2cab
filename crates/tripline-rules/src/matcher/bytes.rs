//! Reading numbers out of a buffer for byte_test, byte_jump and
//! byte_extract: binary big/little endian, or ASCII digits in a base.

use super::compile::{ByteRead, MAX_VARS};

/// A number read from a buffer, and where the bytes read end.
pub(crate) struct ByteValue {
    pub value: u64,
    pub end: usize,
}

/// Reads the number `read` describes; `None` when the bytes are outside
/// the buffer or are not digits.
pub(crate) fn read_number(
    data: &[u8],
    read: &ByteRead,
    prev_end: usize,
    vars: &[u64; MAX_VARS],
) -> Option<ByteValue> {
    let base = if read.relative { prev_end as i64 } else { 0 };
    let start = base.checked_add(read.offset.get(vars))?;
    if start < 0 {
        return None;
    }
    let start = usize::try_from(start).ok()?;
    let mut n = match read.count {
        // A count from a variable: what a literal count could be.
        Some(c) => match (c.get(vars), read.base) {
            (c @ 0..=8, None) | (c @ 0..=23, Some(_)) => c as usize,
            _ => return None,
        },
        None => usize::from(read.bytes),
    };
    if n == 0 {
        // Binary with 0 bytes (byte_jump only): nothing read, value 0.
        let Some(radix) = read.base else {
            return (start <= data.len()).then_some(ByteValue {
                value: 0,
                end: start,
            });
        };
        // `string` with 0 bytes: every digit that is there.
        n = data
            .get(start..)?
            .iter()
            .take_while(|b| (**b as char).is_digit(radix))
            .count();
        if n == 0 {
            return None;
        }
    }
    let bytes = data.get(start..start.checked_add(n)?)?;
    let mut value = match read.base {
        Some(radix) => {
            let text = std::str::from_utf8(bytes).ok()?;
            u64::from_str_radix(text.trim_start(), radix).ok()?
        }
        None => {
            let mut v = 0u64;
            if read.little {
                for b in bytes.iter().rev() {
                    v = v.checked_shl(8)? | u64::from(*b);
                }
            } else {
                for b in bytes {
                    v = v.checked_shl(8)? | u64::from(*b);
                }
            }
            v
        }
    };
    if let Some(mask) = read.bitmask {
        value &= mask;
        if mask != 0 {
            value >>= mask.trailing_zeros();
        }
    }
    Some(ByteValue {
        value,
        end: start + n,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matcher::compile::Operand;

    fn read(bytes: u8, offset: i64, little: bool, base: Option<u32>) -> ByteRead {
        ByteRead {
            bytes,
            count: None,
            offset: Operand::Num(offset),
            relative: false,
            little,
            base,
            bitmask: None,
        }
    }

    #[test]
    fn byte_count_from_a_variable() {
        let mut vars = [0; MAX_VARS];
        let mut r = read(0, 1, false, None);
        r.count = Some(Operand::Var(0));
        let data = [9u8, 1, 2, 3];
        vars[0] = 2;
        let v = read_number(&data, &r, 0, &vars).unwrap();
        assert_eq!((v.value, v.end), (0x0102, 3));
        vars[0] = 0;
        let v = read_number(&data, &r, 0, &vars).unwrap();
        assert_eq!((v.value, v.end), (0, 1));
        vars[0] = 9;
        assert!(read_number(&data, &r, 0, &vars).is_none());
    }

    #[test]
    fn binary_and_string_numbers() {
        let vars = [0; MAX_VARS];
        let d = b"\x01\x02ab123x";
        assert_eq!(
            read_number(d, &read(2, 0, false, None), 0, &vars)
                .unwrap()
                .value,
            0x0102
        );
        assert_eq!(
            read_number(d, &read(2, 0, true, None), 0, &vars)
                .unwrap()
                .value,
            0x0201
        );
        let r = read_number(d, &read(3, 4, false, Some(10)), 0, &vars).unwrap();
        assert_eq!((r.value, r.end), (123, 7));
        assert_eq!(
            read_number(d, &read(0, 4, false, Some(10)), 0, &vars)
                .unwrap()
                .value,
            123
        );
        assert!(read_number(d, &read(2, 7, false, None), 0, &vars).is_none());
        assert!(read_number(d, &read(2, 2, false, Some(10)), 0, &vars).is_none());
    }

    #[test]
    fn bitmask_shifts_right() {
        let vars = [0; MAX_VARS];
        let mut r = read(1, 0, false, None);
        r.bitmask = Some(0xf0);
        assert_eq!(read_number(&[0xab], &r, 0, &vars).unwrap().value, 0xa);
    }
}
