//! The encoder against the model's published similarities and an independent numpy
//! implementation (`scripts/reference_embeddings.py`). Needs the model files
//! (`scripts/fetch-model`, run by the README's test command).

use mingle_encoder::{cosine, installed_model_dir as model_dir, Encoder, EncoderError, MiniLm};

/// The encoder mingle uses: the published model with the answer adapter merged.
fn encoder() -> MiniLm {
    MiniLm::load(&model_dir()).expect("the model is installed (scripts/fetch-model)")
}

/// The published model alone.
fn base_encoder() -> MiniLm {
    MiniLm::load_base(&model_dir()).expect("the model is installed (scripts/fetch-model)")
}

#[test]
fn published_similarities_of_the_model() {
    // sentence-transformers' quickstart for all-MiniLM-L6-v2 prints these similarities.
    let e = base_encoder();
    let v = e.encode(&["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."]).unwrap();
    assert!((cosine(&v[0], &v[1]) - 0.6660).abs() < 1e-3, "{}", cosine(&v[0], &v[1]));
    assert!((cosine(&v[0], &v[2]) - 0.1046).abs() < 1e-3, "{}", cosine(&v[0], &v[2]));
    assert!((cosine(&v[1], &v[2]) - 0.1411).abs() < 1e-3, "{}", cosine(&v[1], &v[2]));
    for x in &v {
        assert_eq!(x.len(), 384);
        let norm: f32 = x.iter().map(|a| a * a).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4);
    }
}

#[test]
fn agrees_with_the_independent_reference() {
    agrees_with(&base_encoder(), include_str!("reference.json"));
}

#[test]
fn with_the_adapter_agrees_with_the_independent_reference() {
    agrees_with(&encoder(), include_str!("reference_adapted.json"));
}

#[test]
fn the_adapter_changes_the_embeddings_and_the_model_id() {
    let (base, adapted) = (base_encoder(), encoder());
    assert_eq!(base.model_id(), "all-MiniLM-L6-v2@53aa51172d14");
    assert!(adapted.model_id().starts_with("all-MiniLM-L6-v2@53aa51172d14+answers-v2@"), "{}", adapted.model_id());
    // What the adapter was trained for: a need moves towards the offer that answers it
    // and away from a course on its topic.
    let texts = [
        "seed funding for my fintech startup",
        "angel cheques into early-stage payments companies",
        "Online course: how to raise a seed round for your fintech",
    ];
    let (b, a) = (base.encode(&texts).unwrap(), adapted.encode(&texts).unwrap());
    assert!(cosine(&b[0], &b[2]) > cosine(&b[0], &b[1]), "the published model prefers the course");
    assert!(cosine(&a[0], &a[1]) > cosine(&a[0], &a[2]), "the adapted model prefers the answer");
}

fn agrees_with(e: &MiniLm, reference: &str) {
    let reference: serde_json::Value = serde_json::from_str(reference).expect("the reference parses");
    for pair in reference["pairs"].as_array().unwrap() {
        let (a, b) = (pair["a"].as_str().unwrap(), pair["b"].as_str().unwrap());
        let v = e.encode(&[a, b]).unwrap();
        let expected = pair["cosine"].as_f64().unwrap() as f32;
        assert!((cosine(&v[0], &v[1]) - expected).abs() < 1e-3, "{a} / {b}: {} vs {expected}", cosine(&v[0], &v[1]));
    }
    let head: Vec<f32> =
        reference["first_embedding_head"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect();
    let v = e.encode(&["The weather is lovely today."]).unwrap();
    for (got, want) in v[0].iter().zip(&head) {
        assert!((got - want).abs() < 1e-4, "{got} vs {want}");
    }
}

#[test]
fn batching_and_padding_do_not_change_an_embedding() {
    let e = encoder();
    let short = "Seed funding";
    let alone = e.encode(&[short]).unwrap().remove(0);
    // Batched with a much longer text (in one forward pass, where a padded implementation
    // would pad it), the short text's embedding is the same as alone.
    let long = "We are a fintech startup in Berlin looking for seed funding, design partners and two senior engineers";
    let batched = e.encode(&[long, short, "x"]).unwrap();
    let diff: f32 = alone.iter().zip(&batched[1]).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
    assert!(diff < 1e-5, "max difference {diff}");
}

#[test]
fn semantic_not_lexical() {
    let e = encoder();
    let v = e.encode(&["seed funding for my fintech startup", "angel investment in early-stage fintech"]).unwrap();
    assert!(cosine(&v[0], &v[1]) > 0.5, "{}", cosine(&v[0], &v[1]));
}

#[test]
fn the_goal_head_tells_direction_on_real_embeddings() {
    // Same topic, opposite directions: the embedding alone confused these pairs.
    let goals = [
        ("Raise a seed round for our fintech startup", "fundraising"),
        ("Meet fintech founders raising a seed round we could lead", "investing"),
        ("We are hiring two senior Rust engineers", "hiring"),
        ("Looking for my next role as a senior Rust engineer", "job_seeking"),
        ("Find customers for our observability tool", "selling"),
        ("Evaluate observability vendors for our platform team", "buying"),
    ];
    let e = encoder();
    let head = mingle_core::goals::GoalClassifier::bundled();
    let vectors = e.encode(&goals.map(|g| g.0)).unwrap();
    for ((goal, expected), v) in goals.iter().zip(&vectors) {
        let c = head.classify(goal, v);
        assert_eq!(c.category, *expected, "{goal}");
        assert!(c.probability > 0.1 && c.probability <= 1.0, "{goal}: {}", c.probability);
    }
}

#[test]
fn a_missing_or_corrupt_model_is_a_clear_error() {
    let empty = tempfile::tempdir().unwrap();
    match MiniLm::load(empty.path()) {
        Err(EncoderError::Missing(path)) => assert!(path.ends_with("config.json"), "{path}"),
        other => panic!("expected Missing, got {:?}", other.err()),
    }
    // Every file present, but the weights are not the pinned ones.
    let dir = tempfile::tempdir().unwrap();
    for name in ["config.json", "tokenizer.json"] {
        std::fs::copy(model_dir().join(name), dir.path().join(name)).unwrap();
    }
    std::fs::write(dir.path().join("model.safetensors"), b"not a model").unwrap();
    match MiniLm::load(dir.path()) {
        Err(EncoderError::Corrupt(msg)) => assert!(msg.contains("SHA-256"), "{msg}"),
        other => panic!("expected Corrupt, got {:?}", other.err()),
    }
}
