//! Decodes arbitrary bytes as a frame of a link type chosen by the first byte.
#![no_main]

use tripline_ingest::capture::decode_frame;
use tripline_ingest::capture::link::linktype;

const LINKTYPES: [u32; 11] = [
    linktype::NULL,
    linktype::ETHERNET,
    linktype::RAW_BSD,
    linktype::RAW_OPENBSD,
    linktype::RAW,
    linktype::LOOP,
    linktype::LINUX_SLL,
    linktype::IPV4,
    linktype::IPV6,
    linktype::LINUX_SLL2,
    147, // a link type nobody decodes
];

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&pick, frame)) = data.split_first() else {
        return;
    };
    let lt = LINKTYPES[pick as usize % LINKTYPES.len()];
    if let Ok(decoded) = decode_frame(lt, frame) {
        // Everything borrowed lies inside the frame.
        let range = frame.as_ptr_range();
        assert!(range.contains(&decoded.ip.as_ptr()) || decoded.ip.is_empty());
        assert!(decoded.payload.len() <= decoded.ip.len());
        assert!(decoded.header.ip.version == 4 || decoded.header.ip.version == 6);
    }
});
