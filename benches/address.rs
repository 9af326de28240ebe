//! One validation benchmark per address family, plus baselines (plain decoding of the
//! same strings) measured in the same run so ratios can be quoted.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use withdrawal_tracker::domain::address::validate;
use withdrawal_tracker::domain::network::Network::{self, *};

const BTC_P2PKH: &str = "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa";
const BTC_P2WPKH: &str = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq";
const ETH_MIXED: &str = "0xdAC17F958D2ee523a2206206994597C13D831ec7";

const FAMILIES: &[(&str, Network, &str)] = &[
    ("btc_p2pkh_base58check", Btc, BTC_P2PKH),
    ("btc_p2wpkh_bech32", Btc, BTC_P2WPKH),
    ("btc_p2tr_bech32m", Btc, "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0"),
    ("eth_eip55_mixed", Eth, ETH_MIXED),
    ("bch_cashaddr", Bch, "bitcoincash:qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6a"),
    ("zec_sapling", Zec, "zs1z7rejlpsa98s2rrrfkwmaxu53e4ue0ulcrw0h4x5g8jl04tak0d3mm47vdtahatqrlkngh9slya"),
    ("trx", Trx, "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"),
    ("sol", Sol, "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"),
    ("xrp_classic", Xrp, "rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh"),
    ("xrp_x_address", Xrp, "XVLhHMPHU98es4dbozjVtdWzVrDjtVqrDUk2vDpkTjPsY73"),
    ("xlm", Xlm, "GBH4TZYZ4IRCPO44CBOLFUHULU2WGALXTAVESQA6432MBJMABBB4GIYI"),
    (
        "ada_shelley",
        Ada,
        "addr1q8gg2r3vf9zggn48g7m8vx62rwf6warcs4k7ej8mdzmqmesj30jz7psduyk6n4n2qrud2xlv9fgj53n6ds3t8cs4fvzs05yzmz",
    ),
    ("ada_byron", Ada, "Ae2tdPwUPEZFSi1cTyL1ZL6bgixhc2vSy5heg6Zg9uP7PpumkAJ82Qprt8b"),
    ("dot_ss58", Dot, "1a1LcBX6hGPKg5aQ6DXZpAHCCzWjckhea4sz3P1PvL3oc4F"),
    ("atom", Atom, "cosmos1fl48vsnmsdzcv85q5d2q4z5ajdha8yu34mf0eh"),
    ("ton_friendly", Ton, "EQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqB2N"),
    ("near_named", Near, "app.nearcrowd.near"),
    ("apt", Apt, "0x0000000000000000000000000000000000000000000000000000000000000001"),
    ("algo", Algo, "2UEQTE5QDNXPI7M3TU44G6SYKLFWLPQO7EBZM7K7MHMQQMFI4QJPLHQFHM"),
    ("hbar_checksum", Hbar, "0.0.123-vfmkw"),
    ("eos", Eos, "eosio.token"),
    ("xtz", Xtz, "tz1YWK1gDPQx9N1Jh4JnmVre7xN6xhGGM4uC"),
    ("fil_f1", Fil, "f1abjxfbp274xpdqcpuaykwkfb43omjotacm2p3za"),
];

fn families(c: &mut Criterion) {
    let mut g = c.benchmark_group("validate");
    for &(name, net, addr) in FAMILIES {
        assert!(validate(net, addr, None).valid, "{name}");
        g.bench_function(name, |b| b.iter(|| validate(black_box(net), black_box(addr), None)));
    }
    g.bench_function("invalid_huge_input", |b| {
        let s = "1".repeat(100_000);
        b.iter(|| validate(black_box(Btc), black_box(&s), None))
    });
    g.finish();
}

fn baselines(c: &mut Criterion) {
    let mut g = c.benchmark_group("baseline");
    g.bench_function("bs58_decode_btc_p2pkh", |b| b.iter(|| bs58::decode(black_box(BTC_P2PKH)).into_vec()));
    g.bench_function("bech32_crate_segwit_decode_p2wpkh", |b| b.iter(|| bech32::segwit::decode(black_box(BTC_P2WPKH))));
    g.bench_function("hex_decode_eth", |b| b.iter(|| hex::decode(black_box(&ETH_MIXED[2..]))));
    g.finish();
}

criterion_group!(benches, families, baselines);
criterion_main!(benches);
