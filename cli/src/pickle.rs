//! A small, safe Python pickle reader (protocols 0-5, the binary opcodes) for PyTorch
//! checkpoints. Nothing is executed: a class or function reference becomes a
//! [`Value::Global`], a call of it a [`Value::Object`]. The few PyTorch rebuild functions that
//! matter are interpreted: `_rebuild_tensor_v2` gives a [`Value::Tensor`] that points into a
//! storage named by a persistent id, `_rebuild_parameter` unwraps to its tensor, and
//! `collections.OrderedDict` gives a dict.

use std::cell::RefCell;
use std::rc::Rc;

/// A storage named by a persistent id: `('storage', torch.FloatStorage, key, location, numel)`.
#[derive(Debug, Clone, PartialEq)]
pub struct StorageRef {
    /// Storage class name, e.g. `FloatStorage`.
    pub class: String,
    /// Entry name under `data/` in the archive.
    pub key: String,
    /// Number of elements.
    pub numel: usize,
}

/// A tensor view of a storage.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorRef {
    /// The storage.
    pub storage: StorageRef,
    /// Offset in elements.
    pub offset: usize,
    /// Shape.
    pub shape: Vec<usize>,
    /// Strides in elements.
    pub stride: Vec<usize>,
}

/// A generic object: a call of a global (`REDUCE`, `NEWOBJ`) plus whatever was added to it.
#[derive(Debug, Clone)]
#[allow(dead_code)] // The whole tree is kept (and shown by `Debug`); convert reads the state dict.
pub struct Object {
    /// The callable or class.
    pub class: Value,
    /// Its arguments.
    pub args: Value,
    /// State given by `BUILD`.
    pub state: Option<Value>,
    /// Items added by `SETITEM(S)` (dict subclasses).
    pub items: Vec<(Value, Value)>,
}

/// A shared, mutable container (pickle memo entries alias the same object).
pub type Shared<T> = Rc<RefCell<T>>;

/// An unpickled value.
#[derive(Debug, Clone)]
#[allow(dead_code)] // As `Object`.
pub enum Value {
    /// `None`.
    None,
    /// `True` / `False`.
    Bool(bool),
    /// An integer that fits i64.
    Int(i64),
    /// An integer that does not fit i64 (little-endian two's complement bytes).
    BigInt(Vec<u8>),
    /// A float.
    Float(f64),
    /// A str.
    Str(String),
    /// bytes / bytearray.
    Bytes(Vec<u8>),
    /// A tuple.
    Tuple(Rc<Vec<Value>>),
    /// A list.
    List(Shared<Vec<Value>>),
    /// A dict (or OrderedDict), in insertion order.
    Dict(Shared<Vec<(Value, Value)>>),
    /// A set or frozenset.
    Set(Shared<Vec<Value>>),
    /// A reference to `module.name`.
    Global(String, String),
    /// A storage from a persistent id.
    Storage(StorageRef),
    /// A tensor (`torch._utils._rebuild_tensor_v2`).
    Tensor(TensorRef),
    /// Anything else.
    Object(Shared<Object>),
}

impl Value {
    /// The integer, if this is one.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Bool(b) => Some(*b as i64),
            _ => None,
        }
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Items of a tuple or list.
    pub fn items(&self) -> Option<Vec<Value>> {
        match self {
            Value::Tuple(t) => Some(t.to_vec()),
            Value::List(l) => Some(l.borrow().clone()),
            _ => None,
        }
    }

    /// Entries of a dict, or of an object built as a dict subclass.
    pub fn dict_entries(&self) -> Option<Vec<(Value, Value)>> {
        match self {
            Value::Dict(d) => Some(d.borrow().clone()),
            Value::Object(o) => {
                let o = o.borrow();
                (!o.items.is_empty()).then(|| o.items.clone())
            }
            _ => None,
        }
    }

    /// Look up a string key in a dict.
    pub fn get(&self, key: &str) -> Option<Value> {
        self.dict_entries()?
            .into_iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    }

    fn usizes(&self, what: &str) -> Result<Vec<usize>, String> {
        self.items()
            .ok_or_else(|| format!("{what} is not a tuple"))?
            .iter()
            .map(|v| {
                v.as_int()
                    .and_then(|i| usize::try_from(i).ok())
                    .ok_or_else(|| format!("{what} holds a non-integer"))
            })
            .collect()
    }
}

/// Unpickle `data`. Errors are one-line strings.
pub fn load(data: &[u8]) -> Result<Value, String> {
    Machine {
        data,
        pos: 0,
        stack: Vec::new(),
        marks: Vec::new(),
        memo: std::collections::HashMap::new(),
    }
    .run()
}

struct Machine<'a> {
    data: &'a [u8],
    pos: usize,
    stack: Vec<Value>,
    marks: Vec<usize>,
    memo: std::collections::HashMap<u64, Value>,
}

impl Machine<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], String> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.data.len())
            .ok_or("truncated pickle")?;
        let s = &self.data[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    fn le(&mut self, n: usize) -> Result<u64, String> {
        let b = self.take(n)?;
        Ok(b.iter().rev().fold(0u64, |a, &x| (a << 8) | x as u64))
    }

    fn line(&mut self) -> Result<String, String> {
        let rest = &self.data[self.pos..];
        let n = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or("truncated pickle")?;
        let s = String::from_utf8_lossy(&rest[..n]).into_owned();
        self.pos += n + 1;
        Ok(s)
    }

    fn pop(&mut self) -> Result<Value, String> {
        if self.marks.last().is_some_and(|&m| m >= self.stack.len()) {
            return Err("pickle stack underflow at a mark".into());
        }
        self.stack
            .pop()
            .ok_or_else(|| "pickle stack underflow".into())
    }

    fn top(&mut self) -> Result<&mut Value, String> {
        self.stack
            .last_mut()
            .ok_or_else(|| "pickle stack underflow".into())
    }

    fn pop_mark(&mut self) -> Result<Vec<Value>, String> {
        let m = self.marks.pop().ok_or("pickle mark missing")?;
        if m > self.stack.len() {
            return Err("pickle mark beyond the stack".into());
        }
        Ok(self.stack.split_off(m))
    }

    fn string(bytes: &[u8]) -> Result<Value, String> {
        String::from_utf8(bytes.to_vec())
            .map(Value::Str)
            .map_err(|_| "invalid UTF-8 in a pickled str".into())
    }

    fn long(bytes: &[u8]) -> Value {
        if bytes.is_empty() {
            return Value::Int(0);
        }
        if bytes.len() <= 8 {
            let neg = bytes[bytes.len() - 1] & 0x80 != 0;
            let mut buf = [if neg { 0xff } else { 0 }; 8];
            buf[..bytes.len()].copy_from_slice(bytes);
            return Value::Int(i64::from_le_bytes(buf));
        }
        Value::BigInt(bytes.to_vec())
    }

    fn run(mut self) -> Result<Value, String> {
        loop {
            let op = self.u8()?;
            match op {
                0x80 => {
                    self.u8()?; // PROTO
                }
                0x95 => {
                    self.le(8)?; // FRAME
                }
                b'.' => return self.pop(), // STOP
                b'(' => self.marks.push(self.stack.len()),
                b'0' => {
                    self.pop()?;
                }
                b'1' => {
                    self.pop_mark()?;
                }
                b'2' => {
                    let v = self.top()?.clone();
                    self.stack.push(v);
                }
                b'N' => self.stack.push(Value::None),
                0x88 => self.stack.push(Value::Bool(true)),
                0x89 => self.stack.push(Value::Bool(false)),
                b'J' => {
                    let v = self.le(4)? as u32 as i32;
                    self.stack.push(Value::Int(v as i64));
                }
                b'K' => {
                    let v = self.le(1)?;
                    self.stack.push(Value::Int(v as i64));
                }
                b'M' => {
                    let v = self.le(2)?;
                    self.stack.push(Value::Int(v as i64));
                }
                0x8a => {
                    let n = self.u8()? as usize;
                    let v = Self::long(self.take(n)?);
                    self.stack.push(v);
                }
                0x8b => {
                    let n = self.le(4)? as usize;
                    let v = Self::long(self.take(n)?);
                    self.stack.push(v);
                }
                b'I' => {
                    let l = self.line()?;
                    let v = match l.as_str() {
                        "00" => Value::Bool(false),
                        "01" => Value::Bool(true),
                        s => Value::Int(s.parse().map_err(|_| format!("bad INT `{s}`"))?),
                    };
                    self.stack.push(v);
                }
                b'L' => {
                    let l = self.line()?;
                    let v = l
                        .trim_end_matches('L')
                        .parse()
                        .map_err(|_| format!("bad LONG `{l}`"))?;
                    self.stack.push(Value::Int(v));
                }
                b'G' => {
                    let b = self.take(8)?;
                    let v = f64::from_be_bytes(b.try_into().expect("8 bytes"));
                    self.stack.push(Value::Float(v));
                }
                b'F' => {
                    let l = self.line()?;
                    let v = l.parse().map_err(|_| format!("bad FLOAT `{l}`"))?;
                    self.stack.push(Value::Float(v));
                }
                b'X' | 0x8c | 0x8d => {
                    let n = match op {
                        b'X' => self.le(4)?,
                        0x8c => self.le(1)?,
                        _ => self.le(8)?,
                    } as usize;
                    let v = Self::string(self.take(n)?)?;
                    self.stack.push(v);
                }
                b'T' | b'U' => {
                    // BINSTRING / SHORT_BINSTRING: Python 2 str, read as Latin-1.
                    let n = if op == b'T' { self.le(4)? } else { self.le(1)? } as usize;
                    let s = self.take(n)?.iter().map(|&b| b as char).collect();
                    self.stack.push(Value::Str(s));
                }
                b'B' | b'C' | 0x8e | 0x96 => {
                    let n = match op {
                        b'B' => self.le(4)?,
                        b'C' => self.le(1)?,
                        _ => self.le(8)?,
                    } as usize;
                    let v = Value::Bytes(self.take(n)?.to_vec());
                    self.stack.push(v);
                }
                b')' => self.stack.push(Value::Tuple(Rc::new(Vec::new()))),
                b't' => {
                    let items = self.pop_mark()?;
                    self.stack.push(Value::Tuple(Rc::new(items)));
                }
                0x85..=0x87 => {
                    let n = (op - 0x84) as usize;
                    if self.stack.len() < n {
                        return Err("pickle stack underflow".into());
                    }
                    let items = self.stack.split_off(self.stack.len() - n);
                    self.stack.push(Value::Tuple(Rc::new(items)));
                }
                b']' => self.stack.push(Value::List(Rc::default())),
                b'l' => {
                    let items = self.pop_mark()?;
                    self.stack.push(Value::List(Rc::new(RefCell::new(items))));
                }
                b'}' => self.stack.push(Value::Dict(Rc::default())),
                b'd' => {
                    let items = self.pop_mark()?;
                    let pairs = pairs(items)?;
                    self.stack.push(Value::Dict(Rc::new(RefCell::new(pairs))));
                }
                0x8f => self.stack.push(Value::Set(Rc::default())),
                0x91 => {
                    let items = self.pop_mark()?;
                    self.stack.push(Value::Set(Rc::new(RefCell::new(items))));
                }
                b'a' => {
                    let v = self.pop()?;
                    append(self.top()?, vec![v])?;
                }
                b'e' => {
                    let items = self.pop_mark()?;
                    append(self.top()?, items)?;
                }
                0x90 => {
                    let items = self.pop_mark()?;
                    match self.top()? {
                        Value::Set(s) => s.borrow_mut().extend(items),
                        _ => return Err("ADDITEMS on a non-set".into()),
                    }
                }
                b's' => {
                    let v = self.pop()?;
                    let k = self.pop()?;
                    set_items(self.top()?, vec![(k, v)])?;
                }
                b'u' => {
                    let items = self.pop_mark()?;
                    let p = pairs(items)?;
                    set_items(self.top()?, p)?;
                }
                b'q' | b'r' | b'p' | 0x94 => {
                    let idx = match op {
                        b'q' => self.le(1)?,
                        b'r' => self.le(4)?,
                        b'p' => {
                            let l = self.line()?;
                            l.parse().map_err(|_| format!("bad PUT `{l}`"))?
                        }
                        _ => self.memo.len() as u64,
                    };
                    let v = self.top()?.clone();
                    self.memo.insert(idx, v);
                }
                b'h' | b'j' | b'g' => {
                    let idx = match op {
                        b'h' => self.le(1)?,
                        b'j' => self.le(4)?,
                        _ => {
                            let l = self.line()?;
                            l.parse().map_err(|_| format!("bad GET `{l}`"))?
                        }
                    };
                    let v = self
                        .memo
                        .get(&idx)
                        .cloned()
                        .ok_or_else(|| format!("pickle memo {idx} missing"))?;
                    self.stack.push(v);
                }
                b'c' => {
                    let module = self.line()?;
                    let name = self.line()?;
                    self.stack.push(Value::Global(module, name));
                }
                0x93 => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    match (module, name) {
                        (Value::Str(m), Value::Str(n)) => self.stack.push(Value::Global(m, n)),
                        _ => return Err("STACK_GLOBAL needs two strings".into()),
                    }
                }
                b'Q' => {
                    let pid = self.pop()?;
                    let v = persistent(pid)?;
                    self.stack.push(v);
                }
                b'R' => {
                    let args = self.pop()?;
                    let f = self.pop()?;
                    let v = reduce(f, args)?;
                    self.stack.push(v);
                }
                0x81 => {
                    let args = self.pop()?;
                    let cls = self.pop()?;
                    let v = reduce(cls, args)?;
                    self.stack.push(v);
                }
                0x92 => {
                    let _kwargs = self.pop()?;
                    let args = self.pop()?;
                    let cls = self.pop()?;
                    let v = reduce(cls, args)?;
                    self.stack.push(v);
                }
                b'b' => {
                    let state = self.pop()?;
                    if let Value::Object(o) = self.top()? {
                        o.borrow_mut().state = Some(state);
                    }
                    // Dicts (OrderedDict `_metadata`), tensors: the state is not needed.
                }
                _ => {
                    return Err(format!(
                        "unsupported pickle opcode 0x{op:02x} at byte {}",
                        self.pos - 1
                    ));
                }
            }
        }
    }
}

fn pairs(items: Vec<Value>) -> Result<Vec<(Value, Value)>, String> {
    if !items.len().is_multiple_of(2) {
        return Err("odd number of dict items".into());
    }
    let mut it = items.into_iter();
    let mut out = Vec::new();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        out.push((k, v));
    }
    Ok(out)
}

fn append(target: &mut Value, items: Vec<Value>) -> Result<(), String> {
    match target {
        Value::List(l) => l.borrow_mut().extend(items),
        // A list subclass: keep the items as (index, value) pairs.
        Value::Object(o) => {
            let mut o = o.borrow_mut();
            let n = o.items.len();
            o.items.extend(
                items
                    .into_iter()
                    .enumerate()
                    .map(|(i, v)| (Value::Int((n + i) as i64), v)),
            );
        }
        _ => return Err("APPEND to a non-list".into()),
    }
    Ok(())
}

fn set_items(target: &mut Value, items: Vec<(Value, Value)>) -> Result<(), String> {
    match target {
        Value::Dict(d) => d.borrow_mut().extend(items),
        Value::Object(o) => o.borrow_mut().items.extend(items),
        _ => return Err("SETITEM on a non-dict".into()),
    }
    Ok(())
}

fn persistent(pid: Value) -> Result<Value, String> {
    let t = pid.items().ok_or("persistent id is not a tuple")?;
    match (t.first().and_then(Value::as_str), t.len()) {
        (Some("storage"), 5) => {
            let class = match &t[1] {
                Value::Global(_, name) => name.clone(),
                _ => return Err("storage type is not a class".into()),
            };
            let key = match &t[2] {
                Value::Str(s) => s.clone(),
                Value::Int(i) => i.to_string(),
                _ => return Err("storage key is not a string".into()),
            };
            let numel = t[4]
                .as_int()
                .and_then(|n| usize::try_from(n).ok())
                .ok_or("storage size is not an integer")?;
            Ok(Value::Storage(StorageRef { class, key, numel }))
        }
        _ => Err("unsupported persistent id (expected a PyTorch storage)".into()),
    }
}

fn reduce(f: Value, args: Value) -> Result<Value, String> {
    if let Value::Global(module, name) = &f {
        match (module.as_str(), name.as_str()) {
            ("torch._utils", "_rebuild_tensor_v2" | "_rebuild_tensor") => {
                let a = args.items().ok_or("tensor arguments are not a tuple")?;
                if a.len() < 4 {
                    return Err("too few tensor arguments".into());
                }
                let storage = match &a[0] {
                    Value::Storage(s) => s.clone(),
                    _ => return Err("tensor without storage".into()),
                };
                let offset = a[1]
                    .as_int()
                    .and_then(|i| usize::try_from(i).ok())
                    .ok_or("bad tensor offset")?;
                let shape = a[2].usizes("tensor size")?;
                let stride = a[3].usizes("tensor stride")?;
                if shape.len() != stride.len() {
                    return Err("tensor size and stride differ in length".into());
                }
                return Ok(Value::Tensor(TensorRef {
                    storage,
                    offset,
                    shape,
                    stride,
                }));
            }
            ("torch._utils", "_rebuild_parameter" | "_rebuild_parameter_with_state") => {
                let a = args.items().ok_or("parameter arguments are not a tuple")?;
                return a.into_iter().next().ok_or("empty parameter".into());
            }
            ("torch._tensor", "_rebuild_from_type_v2") => {
                // (func, new_type, args, state): the tensor is func(*args).
                let a = args.items().ok_or("arguments are not a tuple")?;
                if a.len() >= 3 {
                    return reduce(a[0].clone(), a[2].clone());
                }
            }
            ("collections", "OrderedDict") | ("builtins" | "__builtin__", "dict") => {
                let init = args
                    .items()
                    .and_then(|a| a.into_iter().next())
                    .and_then(|v| v.items())
                    .unwrap_or_default();
                let mut entries = Vec::new();
                for p in init {
                    let kv = p.items().ok_or("dict item is not a pair")?;
                    if kv.len() == 2 {
                        entries.push((kv[0].clone(), kv[1].clone()));
                    }
                }
                return Ok(Value::Dict(Rc::new(RefCell::new(entries))));
            }
            _ => {}
        }
    }
    Ok(Value::Object(Rc::new(RefCell::new(Object {
        class: f,
        args,
        state: None,
        items: Vec::new(),
    }))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_protocol2() {
        // pickle.dumps({'a': [1, -2, 3.5, 'x', None, True], 'b': (300, 70000, 2**40)}, 2)
        let data: &[u8] = b"\x80\x02}q\x00(X\x01\x00\x00\x00aq\x01]q\x02(K\x01J\xfe\xff\xff\xffG@\x0c\x00\x00\x00\x00\x00\x00X\x01\x00\x00\x00xq\x03N\x88eX\x01\x00\x00\x00bq\x04M,\x01J\x70\x11\x01\x00\x8a\x06\x00\x00\x00\x00\x00\x01\x87q\x05u.";
        let v = load(data).unwrap();
        let a = v.get("a").unwrap().items().unwrap();
        assert_eq!(a[0].as_int(), Some(1));
        assert_eq!(a[1].as_int(), Some(-2));
        assert!(matches!(a[2], Value::Float(f) if f == 3.5));
        assert_eq!(a[3].as_str(), Some("x"));
        let b = v.get("b").unwrap().items().unwrap();
        assert_eq!(b[0].as_int(), Some(300));
        assert_eq!(b[1].as_int(), Some(70000));
        assert_eq!(b[2].as_int(), Some(1 << 40));
    }

    #[test]
    fn errors_not_panics() {
        for data in [
            &b""[..],
            b"\x80\x02",
            b"\x80\x02(t\xff",
            b"0",
            b"h\x05.",
            b"}X\xff\xff\xff\xff",
        ] {
            assert!(load(data).is_err());
        }
    }
}
