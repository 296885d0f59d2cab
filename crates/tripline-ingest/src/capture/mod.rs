//! Capture files: pcap, pcapng, gzip; link layers; decoding into `Header`; IP defragmentation.
