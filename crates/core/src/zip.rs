//! The small part of the zip format backups and office documents (a Format Paper manuscript in
//! `.docx` or `.odt`) need: entries stored or deflated, UTF-8 names, CRC-32 checked on reading. No zip64, encryption or other methods: a backup bigger than
//! 4 GiB or with more than 65,535 entries is refused with a clear error instead of written
//! wrong.

use std::collections::HashMap;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZipError(String);

impl ZipError {
    pub(crate) fn new(why: impl Into<String>) -> ZipError {
        ZipError(why.into())
    }
}

impl std::fmt::Display for ZipError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ZipError {}

const LOCAL: u32 = 0x0403_4b50;
const CENTRAL: u32 = 0x0201_4b50;
const END: u32 = 0x0605_4b50;
/// Bit 11: names are UTF-8.
const UTF8: u16 = 0x0800;
const STORED: u16 = 0;
const DEFLATED: u16 = 8;

fn crc_table() -> [u32; 256] {
    let mut table = [0u32; 256];
    for (i, slot) in table.iter_mut().enumerate() {
        let mut c = i as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 {
                0xedb8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
        *slot = c;
    }
    table
}

pub fn crc32(data: &[u8]) -> u32 {
    let table = crc_table();
    let mut c = 0xffff_ffffu32;
    for &b in data {
        c = table[((c ^ u32::from(b)) & 0xff) as usize] ^ (c >> 8);
    }
    c ^ 0xffff_ffff
}

struct Entry {
    name: String,
    method: u16,
    crc: u32,
    compressed: u32,
    size: u32,
    offset: u32,
}

#[derive(Default)]
pub struct Writer {
    out: Vec<u8>,
    entries: Vec<Entry>,
}

fn u32_of(n: usize, what: &str) -> Result<u32, ZipError> {
    u32::try_from(n).map_err(|_| ZipError::new(format!("{what} is larger than 4 GiB")))
}

impl Writer {
    pub fn new() -> Writer {
        Writer::default()
    }

    /// Add an entry; `compress` deflates it (kept stored if that would not make it smaller).
    pub fn add(&mut self, name: &str, data: &[u8], compress: bool) -> Result<(), ZipError> {
        if self.entries.len() >= usize::from(u16::MAX) {
            return Err(ZipError::new("more than 65,535 files"));
        }
        let deflated = compress.then(|| miniz_oxide::deflate::compress_to_vec(data, 6));
        let (method, body) = match &deflated {
            Some(d) if d.len() < data.len() => (DEFLATED, d.as_slice()),
            _ => (STORED, data),
        };
        let entry = Entry {
            name: name.to_string(),
            method,
            crc: crc32(data),
            compressed: u32_of(body.len(), name)?,
            size: u32_of(data.len(), name)?,
            offset: u32_of(self.out.len(), "the backup")?,
        };
        let o = &mut self.out;
        put32(o, LOCAL);
        put16(o, 20);
        put16(o, UTF8);
        put16(o, entry.method);
        put16(o, 0); // time
        put16(o, 0x21); // 1980-01-01
        put32(o, entry.crc);
        put32(o, entry.compressed);
        put32(o, entry.size);
        put16(o, name_len(name)?);
        put16(o, 0);
        o.extend_from_slice(name.as_bytes());
        o.extend_from_slice(body);
        self.entries.push(entry);
        Ok(())
    }

    pub fn finish(mut self) -> Result<Vec<u8>, ZipError> {
        let start = u32_of(self.out.len(), "the backup")?;
        let o = &mut self.out;
        for e in &self.entries {
            put32(o, CENTRAL);
            put16(o, 20);
            put16(o, 20);
            put16(o, UTF8);
            put16(o, e.method);
            put16(o, 0);
            put16(o, 0x21);
            put32(o, e.crc);
            put32(o, e.compressed);
            put32(o, e.size);
            put16(o, name_len(&e.name)?);
            put16(o, 0); // extra
            put16(o, 0); // comment
            put16(o, 0); // disk
            put16(o, 0); // internal attributes
            put32(o, 0); // external attributes
            put32(o, e.offset);
            o.extend_from_slice(e.name.as_bytes());
        }
        let size = u32_of(o.len(), "the backup")? - start;
        let count = self.entries.len() as u16;
        put32(o, END);
        put16(o, 0);
        put16(o, 0);
        put16(o, count);
        put16(o, count);
        put32(o, size);
        put32(o, start);
        put16(o, 0);
        Ok(self.out)
    }
}

fn name_len(name: &str) -> Result<u16, ZipError> {
    u16::try_from(name.len()).map_err(|_| ZipError::new("a file name is too long"))
}

fn put16(o: &mut Vec<u8>, v: u16) {
    o.extend_from_slice(&v.to_le_bytes());
}

fn put32(o: &mut Vec<u8>, v: u32) {
    o.extend_from_slice(&v.to_le_bytes());
}

fn get16(b: &[u8], at: usize) -> Result<u16, ZipError> {
    b.get(at..at + 2)
        .map(|s| u16::from_le_bytes([s[0], s[1]]))
        .ok_or_else(|| ZipError::new("it ends too soon"))
}

fn get32(b: &[u8], at: usize) -> Result<u32, ZipError> {
    b.get(at..at + 4)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
        .ok_or_else(|| ZipError::new("it ends too soon"))
}

/// Every entry of a zip, by name, checked against its CRC-32.
pub fn read(b: &[u8]) -> Result<HashMap<String, Vec<u8>>, ZipError> {
    Ok(entries(b)?.into_iter().map(|e| (e.name, e.data)).collect())
}

/// Every entry of a zip in the zip's own order (an OpenDocument file's `mimetype` must stay
/// first), checked against its CRC-32: its name, its bytes and whether it was deflated.
pub fn entries(b: &[u8]) -> Result<Vec<ZipEntry>, ZipError> {
    // The end record is in the last 22 + 65,535 bytes (its comment is at most that long).
    let lowest = b.len().saturating_sub(22 + usize::from(u16::MAX));
    let end = (lowest..=b.len().saturating_sub(22))
        .rev()
        .find(|&i| get32(b, i).ok() == Some(END))
        .ok_or_else(|| ZipError::new("it is not a zip file, or it was cut short"))?;
    let count = get16(b, end + 10)?;
    let mut at = get32(b, end + 16)? as usize;
    let mut out = Vec::with_capacity(usize::from(count));
    for _ in 0..count {
        if get32(b, at)? != CENTRAL {
            return Err(ZipError::new("its directory is damaged"));
        }
        let method = get16(b, at + 10)?;
        let crc = get32(b, at + 16)?;
        let compressed = get32(b, at + 20)? as usize;
        let size = get32(b, at + 24)? as usize;
        let name_len = usize::from(get16(b, at + 28)?);
        let extra_len = usize::from(get16(b, at + 30)?);
        let comment_len = usize::from(get16(b, at + 32)?);
        let offset = get32(b, at + 42)? as usize;
        let name = b
            .get(at + 46..at + 46 + name_len)
            .ok_or_else(|| ZipError::new("its directory is damaged"))?;
        let name = String::from_utf8_lossy(name).into_owned();
        at += 46 + name_len + extra_len + comment_len;

        if get32(b, offset)? != LOCAL {
            return Err(ZipError::new(format!("the entry {name} is damaged")));
        }
        let data_at =
            offset + 30 + usize::from(get16(b, offset + 26)?) + usize::from(get16(b, offset + 28)?);
        let body = b
            .get(data_at..data_at + compressed)
            .ok_or_else(|| ZipError::new(format!("the entry {name} is cut short")))?;
        let data = match method {
            STORED => body.to_vec(),
            DEFLATED => miniz_oxide::inflate::decompress_to_vec_with_limit(body, size)
                .map_err(|_| ZipError::new(format!("the entry {name} does not decompress")))?,
            other => {
                return Err(ZipError::new(format!(
                    "the entry {name} uses compression method {other}, which refsync does not read"
                )))
            }
        };
        if data.len() != size || crc32(&data) != crc {
            return Err(ZipError::new(format!(
                "the entry {name} is damaged (its checksum does not match)"
            )));
        }
        out.push(ZipEntry {
            name,
            data,
            deflated: method == DEFLATED,
        });
    }
    Ok(out)
}

/// One file in a zip.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZipEntry {
    pub name: String,
    pub data: Vec<u8>,
    pub deflated: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
    }

    #[test]
    fn entries_round_trip_stored_and_deflated() {
        let mut w = Writer::new();
        let text = "words ".repeat(1000);
        w.add("a.txt", text.as_bytes(), true).unwrap();
        w.add("b.bin", &[0, 1, 2, 3], true).unwrap();
        w.add("ü/c", b"", false).unwrap();
        let zip = w.finish().unwrap();
        assert!(zip.len() < text.len(), "deflated");
        let back = read(&zip).unwrap();
        assert_eq!(back["a.txt"], text.as_bytes());
        assert_eq!(back["b.bin"], vec![0, 1, 2, 3]);
        assert_eq!(back["ü/c"], Vec::<u8>::new());
    }
}
