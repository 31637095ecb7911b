// Package reward scores generated text against references: BLEU as
// sacrebleu computes it, ROUGE as Google's rouge_score computes it, and
// BERTScore as the bert_score package computes it, over any
// encoder.TextEncoder. The RL loop's episode reward is a difference of
// BERTScores; every BERTScore result names the embedder and layer that
// produced it.
package reward
