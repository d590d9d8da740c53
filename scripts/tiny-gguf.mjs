// Writes a tiny random-weight llama GGUF model (GGUF v3, no dependencies): a SentencePiece-style byte-level
// vocabulary with qwen-style FIM tokens (<|fim_prefix|>, <|fim_suffix|>, <|fim_middle|>, <|fim_pad|>). The same seed
// gives the same bytes. Usage: node scripts/tiny-gguf.mjs out.gguf [--f16] [--seed N] [--text-only] [--no-fim]
import fs from "node:fs";

// ---- GGUF constants ----
const GGUF_MAGIC = 0x46554747; // "GGUF" little-endian
const GGUF_VERSION = 3;
const T = { U8: 0, I8: 1, U16: 2, I16: 3, U32: 4, I32: 5, F32: 6, BOOL: 7, STRING: 8, ARRAY: 9, U64: 10, I64: 11, F64: 12 };
const GGML = { F32: 0, F16: 1 };
const TOKEN_TYPE = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 };

// ---- tiny binary builder ----
class Out {
    constructor() { this.chunks = []; this.len = 0; }
    push(buf) { this.chunks.push(buf); this.len += buf.length; }
    u32(v) { const b = Buffer.alloc(4); b.writeUInt32LE(v); this.push(b); }
    i32(v) { const b = Buffer.alloc(4); b.writeInt32LE(v); this.push(b); }
    u64(v) { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); this.push(b); }
    f32(v) { const b = Buffer.alloc(4); b.writeFloatLE(v); this.push(b); }
    bool(v) { this.push(Buffer.from([v ? 1 : 0])); }
    str(s) { const b = Buffer.from(s, "utf8"); this.u64(b.length); this.push(b); }
    pad(align) { const r = this.len % align; if (r !== 0) this.push(Buffer.alloc(align - r)); }
    concat() { return Buffer.concat(this.chunks, this.len); }
}

// metadata value helpers: [type, value] or ["arr", elemType, values]
const u32 = (v) => [T.U32, v];
const f32 = (v) => [T.F32, v];
const str = (v) => [T.STRING, v];
const bool = (v) => [T.BOOL, v];
const arr = (elemType, values) => [T.ARRAY, elemType, values];

function writeValue(out, type, v) {
    switch (type) {
        case T.U32: out.u32(v); break;
        case T.I32: out.i32(v); break;
        case T.F32: out.f32(v); break;
        case T.BOOL: out.bool(v); break;
        case T.STRING: out.str(v); break;
        case T.U64: out.u64(v); break;
        default: throw new Error("unsupported metadata type " + type);
    }
}

function writeKV(out, key, val) {
    out.str(key);
    out.u32(val[0]);
    if (val[0] === T.ARRAY) {
        const [, elemType, values] = val;
        out.u32(elemType);
        out.u64(values.length);
        for (const v of values) writeValue(out, elemType, v);
    } else writeValue(out, val[0], val[1]);
}

// ---- deterministic PRNG (mulberry32) + normal ----
function rng(seed) {
    let a = seed >>> 0;
    const next = () => {
        a = (a + 0x6D2B79F5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    return { next, normal: () => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next()) };
}

// float32 -> IEEE half (round-to-nearest-even)
const f32buf = new Float32Array(1), u32buf = new Uint32Array(f32buf.buffer);
function toHalf(val) {
    f32buf[0] = val;
    const x = u32buf[0];
    const sign = (x >>> 16) & 0x8000;
    let exp = ((x >>> 23) & 0xff) - 127 + 15;
    let mant = x & 0x7fffff;
    if (exp >= 31) return sign | 0x7c00;
    if (exp <= 0) {
        if (exp < -10) return sign;
        mant |= 0x800000;
        const shift = 14 - exp;
        let h = mant >> shift;
        if ((mant >> (shift - 1)) & 1 && ((mant & ((1 << (shift - 1)) - 1)) || (h & 1))) h++;
        return sign | h;
    }
    let h = sign | (exp << 10) | (mant >> 13);
    if ((mant & 0x1000) && ((mant & 0x2fff))) h++;
    return h;
}

// ---- vocabulary (SentencePiece style) ----
export function buildVocab({ byteTokens = true, fimNames = ["<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>", "<|fim_pad|>"] } = {}) {
    const tokens = [], scores = [], types = [];
    const add = (t, type, score = 0) => { tokens.push(t); types.push(type); scores.push(score); return tokens.length - 1; };
    const ids = {};
    ids.unk = add("<unk>", TOKEN_TYPE.UNKNOWN);
    ids.bos = add("<s>", TOKEN_TYPE.CONTROL);
    ids.eos = add("</s>", TOKEN_TYPE.CONTROL);
    if (byteTokens) for (let b = 0; b < 256; b++) add(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`, TOKEN_TYPE.BYTE);
    [ids.fimPre, ids.fimSuf, ids.fimMid, ids.fimPad] = fimNames.map((n) => add(n, TOKEN_TYPE.CONTROL));
    // normal pieces: every printable ASCII char, "▁", and SPM merge chains for common code words
    const seen = new Set(tokens);
    const normal = (p) => { if (!seen.has(p)) { seen.add(p); add(p, TOKEN_TYPE.NORMAL, -tokens.length * 0.001 + p.length); } };
    normal("\u2581");
    for (let c = 33; c < 127; c++) normal(String.fromCharCode(c));
    const words = ["function", "return", "const", "let", "var", "if", "else", "for", "while", "import", "export",
        "from", "class", "new", "this", "true", "false", "null", "async", "await", "def", "self", "print", "int",
        "string", "value", "name", "data", "result", "console", "log", "add", "sum", "a", "b", "x", "y", "i"];
    for (const w of words) for (let n = 1; n <= w.length; n++) normal("\u2581" + w.slice(0, n)); // "▁f","▁fu",...
    for (const w of ["()", "{}", "=>", "==", "===", "();", "){", "  ", "    "]) { normal(w.slice(0, 2)); normal(w); }
    return { tokens, scores, types, ids };
}

// ---- model ----
export function buildTinyLlamaGguf({ seed = 1234, f16 = false, nEmbd = 64, nLayer = 2, nHead = 4, nHeadKv = 4,
    nFf = 128, nCtx = 2048, fim = true, alignment = 32, textOnly = false,
    vocabOptions = {}, dropKeys = [], dropTensors = [] } = {}) {
    const vocab = buildVocab(vocabOptions);
    const nVocab = vocab.tokens.length;
    const headDim = nEmbd / nHead;
    const r = rng(seed);

    const kv = [
        ["general.architecture", str("llama")],
        ["general.name", str("tiny-random-llama")],
        ["general.alignment", u32(alignment)],
        ["general.file_type", u32(f16 ? 1 : 0)], // 0 = ALL_F32, 1 = MOSTLY_F16
        ["llama.context_length", u32(nCtx)],
        ["llama.embedding_length", u32(nEmbd)],
        ["llama.block_count", u32(nLayer)],
        ["llama.feed_forward_length", u32(nFf)],
        ["llama.attention.head_count", u32(nHead)],
        ["llama.attention.head_count_kv", u32(nHeadKv)],
        ["llama.attention.layer_norm_rms_epsilon", f32(1e-5)],
        ["llama.rope.dimension_count", u32(headDim)],
        ["llama.rope.freq_base", f32(10000)],
        ["llama.vocab_size", u32(nVocab)],
        ["tokenizer.ggml.model", str("llama")],
        ["tokenizer.ggml.tokens", arr(T.STRING, vocab.tokens)],
        ["tokenizer.ggml.scores", arr(T.F32, vocab.scores)],
        ["tokenizer.ggml.token_type", arr(T.I32, vocab.types)],
        ["tokenizer.ggml.bos_token_id", u32(vocab.ids.bos)],
        ["tokenizer.ggml.eos_token_id", u32(vocab.ids.eos)],
        ["tokenizer.ggml.unknown_token_id", u32(vocab.ids.unk)],
        ["tokenizer.ggml.add_bos_token", bool(true)],
        ["tokenizer.ggml.add_eos_token", bool(false)],
    ];
    if (fim) kv.push(
        ["tokenizer.ggml.fim_pre_token_id", u32(vocab.ids.fimPre)],
        ["tokenizer.ggml.fim_suf_token_id", u32(vocab.ids.fimSuf)],
        ["tokenizer.ggml.fim_mid_token_id", u32(vocab.ids.fimMid)],
        ["tokenizer.ggml.fim_pad_token_id", u32(vocab.ids.fimPad)],
    );

    for (const k of dropKeys) kv.splice(kv.findIndex(([name]) => name === k), 1);

    // tensors: dims are ggml order (ne0 = input/fastest dim first)
    const tensors = [];
    const rand = (name, dims, std) => tensors.push({ name, dims, kind: "rand", std });
    const ones = (name, dims) => tensors.push({ name, dims, kind: "ones" });
    rand("token_embd.weight", [nEmbd, nVocab], 1.0);
    ones("output_norm.weight", [nEmbd]);
    rand("output.weight", [nEmbd, nVocab], 0.5);
    // textOnly: zero the output rows of non-normal tokens (bytes, control, EOS) -> logit 0,
    // so greedy decoding practically always emits printable normal pieces and never EOS
    if (textOnly) tensors.at(-1).zeroRows = new Set(vocab.types.flatMap((t, id) => t === TOKEN_TYPE.NORMAL ? [] : [id]));
    for (let i = 0; i < nLayer; i++) {
        const p = `blk.${i}.`;
        ones(p + "attn_norm.weight", [nEmbd]);
        rand(p + "attn_q.weight", [nEmbd, headDim * nHead], 1 / Math.sqrt(nEmbd));
        rand(p + "attn_k.weight", [nEmbd, headDim * nHeadKv], 1 / Math.sqrt(nEmbd));
        rand(p + "attn_v.weight", [nEmbd, headDim * nHeadKv], 1 / Math.sqrt(nEmbd));
        rand(p + "attn_output.weight", [headDim * nHead, nEmbd], 1 / Math.sqrt(nEmbd));
        ones(p + "ffn_norm.weight", [nEmbd]);
        rand(p + "ffn_gate.weight", [nEmbd, nFf], 1 / Math.sqrt(nEmbd));
        rand(p + "ffn_up.weight", [nEmbd, nFf], 1 / Math.sqrt(nEmbd));
        rand(p + "ffn_down.weight", [nFf, nEmbd], 1 / Math.sqrt(nFf));
    }

    for (const n of dropTensors) tensors.splice(tensors.findIndex((t) => t.name === n), 1);

    // materialize data (1-D norm tensors stay F32, matrices optionally F16)
    let offset = 0;
    for (const t of tensors) {
        const n = t.dims.reduce((a, b) => a * b, 1);
        t.type = (f16 && t.dims.length > 1) ? GGML.F16 : GGML.F32;
        if (t.type === GGML.F32) {
            const a = new Float32Array(n);
            for (let j = 0; j < n; j++) a[j] = t.kind === "ones" ? 1 : r.normal() * t.std;
            if (t.zeroRows) for (const row of t.zeroRows) a.fill(0, row * t.dims[0], (row + 1) * t.dims[0]);
            t.data = Buffer.from(a.buffer);
        } else {
            const a = new Uint16Array(n);
            for (let j = 0; j < n; j++) a[j] = toHalf(t.kind === "ones" ? 1 : r.normal() * t.std);
            if (t.zeroRows) for (const row of t.zeroRows) a.fill(0, row * t.dims[0], (row + 1) * t.dims[0]);
            t.data = Buffer.from(a.buffer);
        }
        t.offset = offset;
        offset += Math.ceil(t.data.length / alignment) * alignment;
    }

    const out = new Out();
    out.u32(GGUF_MAGIC);
    out.u32(GGUF_VERSION);
    out.u64(tensors.length);
    out.u64(kv.length);
    for (const [k, v] of kv) writeKV(out, k, v);
    for (const t of tensors) {
        out.str(t.name);
        out.u32(t.dims.length);
        for (const d of t.dims) out.u64(d);
        out.u32(t.type);
        out.u64(t.offset);
    }
    out.pad(alignment);
    for (const t of tensors) { out.push(t.data); out.pad(alignment); }
    return { buffer: out.concat(), vocab, nVocab, tensorCount: tensors.length };
}

if (import.meta.url === `file://${process.argv[1]}`) {
    const file = process.argv[2] ?? "tiny.gguf";
    const f16 = process.argv.includes("--f16");
    const si = process.argv.indexOf("--seed");
    const t0 = performance.now();
    const { buffer, nVocab, tensorCount } = buildTinyLlamaGguf({ f16, textOnly: process.argv.includes("--text-only"),
        fim: !process.argv.includes("--no-fim"), seed: si > 0 ? Number(process.argv[si + 1]) : 1234 });
    fs.writeFileSync(file, buffer);
    console.log(`wrote ${file}: ${buffer.length} bytes, vocab ${nVocab}, ${tensorCount} tensors, ${(performance.now() - t0).toFixed(1)} ms`);
}
