package corpus

import (
	"slices"
	"strings"
)

// contextSentences are this package's own non-diagnostic sentences: where
// the data come from, who is asking, what is wanted, the format, the
// setting, general clinical reasoning and administrative remarks. They
// name no diagnosis (sentences that contain a label of the corpus are
// dropped at Build time), hold no number, so that the only numbers of a
// diagnosis input are its counts, and share none of PMLM's template
// sentences.
var contextSentences = []string{
	// Where the data come from.
	"The results come from routine blood tests taken at antenatal visits.",
	"Blood counts were measured several times between the booking visit and delivery.",
	"Her haemoglobin, platelets and white cells were checked in each trimester.",
	"The file includes liver and kidney function tests from late pregnancy.",
	"Glucose and thyroid values were recorded whenever the midwife asked for them.",
	"Some visits have a full blood count, others only a urine dipstick.",
	"The records cover the whole of her antenatal care at this hospital.",
	"All values are taken from the hospital laboratory system.",
	"A few tests were repeated because the first sample had clotted.",
	"A coagulation screen was done on admission to the labour ward.",
	"Most measurements fall within the limits printed on the laboratory report.",
	"Trends across visits say more than any one value.",
	"The summary was put together by a computer from hundreds of entries in her chart.",
	"This summary rests on records, not on an examination today.",
	"Inflammation markers rose briefly around the time of the birth.",
	"There are gaps in the record in the middle of the pregnancy, when she moved house.",
	"Ultrasound reports are not included here, only blood and urine results.",
	"Each clinic visit added a handful of new measurements to her chart.",
	"Her red cell indices hardly changed from one visit to the next.",
	"Bloods were taken at booking, again in mid-pregnancy and once more before delivery.",
	"Urine was tested for protein and sugar at most appointments.",
	"The laboratory flagged a few results as outside its reference limits, but none as critical.",
	"Her platelet count drifted down slowly over the last months, as it often does.",
	"Ferritin was only measured once, early on.",
	"Blood pressure readings from the clinic are in a separate chart that we do not have.",
	"What we have is a long series of blood tests from her antenatal visits, from the first booking appointment until the day she went into labour, with a few gaps where she missed a visit.",
	"Her full blood count, liver enzymes, kidney function, glucose and thyroid tests were repeated at most visits, so each value can be followed week by week until delivery.",
	"The values were exported from the hospital laboratory system and summarised automatically, so a transcription error here and there cannot be ruled out.",
	"Nothing in her blood results was alarming on its own, but the trends over the last weeks before delivery may still say something about her recovery.",
	// Who is asking.
	"I am a junior doctor preparing her discharge papers.",
	"The midwife on the postnatal ward would like a draft to check.",
	"Her husband asked what she needs to watch out for at home.",
	"This request comes from the family doctor who will see her next.",
	"A medical student is writing up the case for a teaching session.",
	"The ward nurse needs something she can read out to the mother.",
	"The mother herself wants to understand what happened and what comes next.",
	"Our team reviews every discharge before the weekend.",
	"The consultant asked for a short note before the ward round.",
	"I am covering the night shift and do not know her well.",
	"A community midwife will visit her at home in the coming days.",
	"Her sister, who reads English well, will explain the advice to her.",
	"The request was sent by the maternity unit's discharge coordinator.",
	"I am the midwife who looked after her during labour, and she has asked me several questions about her recovery that I would like to answer properly before she leaves.",
	"The family doctor in her village will take over her care, and he would like a summary he can act on without having to call the hospital.",
	// What is wanted.
	"We need advice she can follow once she leaves hospital.",
	"Tell her what to do at home and when to come back.",
	"Explain the follow-up plan in words anyone could understand.",
	"She wants to know about breastfeeding, rest and her medicines.",
	"Mention any check-ups she should book after the birth.",
	"Say which warning signs should bring her straight back to hospital.",
	"Cover diet, activity and, if she had surgery, care of the wound.",
	"Include a word on contraception and on spacing the next pregnancy.",
	"The aim is a safe recovery for mother and baby.",
	"Focus on what matters in the first weeks after the birth.",
	"Avoid jargon, since she has little medical knowledge.",
	"Advice on feeding the baby and on checks for jaundice is welcome too.",
	"Tell her which medicines to continue and which to stop.",
	"Suggest when her blood tests should be repeated.",
	"She asked whether she can climb stairs and lift her older child.",
	"Reassure her where that is honest, and be frank where it is not.",
	"She should leave with a clear idea of what is expected in the coming weeks, what she can do herself to recover well, and which symptoms mean she must come back at once.",
	"Please cover what she needs to know about rest, diet, breastfeeding, medicines and the follow-up appointments, in the order she is most likely to need them.",
	"The advice should be specific to her situation rather than the generic leaflet every mother receives, because she has already read that leaflet twice.",
	// Format.
	"Keep it short; a few sentences are enough.",
	"Use plain sentences rather than a list.",
	"Write to her directly, as you would speak at the bedside.",
	"No more than a paragraph, please.",
	"Number the points if that helps.",
	"Start with the most important instruction.",
	"Please answer in English.",
	"Write it as the note she will take home.",
	"Avoid abbreviations she might not know.",
	"A warm, calm tone works best with this mother.",
	"Answer as a doctor would, without hedging.",
	"The reply will be printed on her going-home sheet.",
	"Leave out the laboratory figures; she only needs the advice.",
	"Write a short paragraph she can read on her own at home, in simple words, without the laboratory figures and without abbreviations she would have to look up.",
	// The setting.
	"She is on the postnatal ward, a few days after delivery.",
	"The birth took place in our maternity unit last week.",
	"She is being seen in the obstetric clinic before going home.",
	"The ward is busy and her bed is needed this evening.",
	"Mother and baby are both well enough to leave.",
	"She will go home this afternoon with her baby.",
	"This is a small district hospital without a neonatal unit.",
	"She lives far from the hospital and rarely comes to town.",
	"She was admitted in labour at night and delivered in the morning.",
	"The baby is feeding and has passed urine.",
	"She has family support at home.",
	"This was her first baby.",
	"She has given birth before without complications.",
	"The delivery itself went smoothly.",
	"Her partner will drive her home and stay with her for the first days.",
	"She gave birth on our maternity ward earlier this week, mother and baby have been observed since, and the team now considers both of them ready to go home.",
	"She lives with her parents in a small town, about an hour from the hospital by bus, so coming back for extra appointments is not easy for her.",
	// General clinical reasoning.
	"Lab results alone rarely settle the diagnosis.",
	"A single odd value may just be a sampling error.",
	"Diagnoses made from records should be confirmed at follow-up.",
	"Comparable cases help, but every mother is different.",
	"Blood counts change a lot during pregnancy and after the birth.",
	"Haemoglobin tends to fall in pregnancy as the blood volume rises.",
	"The advice should fit the diagnosis, not the raw numbers.",
	"When comparable cases disagree, the more frequent diagnosis deserves more weight.",
	"Rare diagnoses still deserve a mention if they are serious.",
	"Comparable cases are chosen by how alike their results look over time.",
	"Counts from a small group of cases are only a rough guide.",
	"Reference limits differ from one laboratory to another.",
	"The white cell count rises at delivery and settles within days.",
	"Good advice follows from the most probable diagnosis.",
	"Doctors combine the history, the examination and the tests.",
	"Thyroid and glucose results need clinical context to be read correctly.",
	"What happened during labour matters as much as the blood results.",
	"Blood results taken during pregnancy have to be read against the changes pregnancy itself causes, such as the fall in haemoglobin and the rise in white cells near term.",
	"A diagnosis suggested by similar cases is a reasonable starting point, but it should be checked against how she actually feels and what the examination shows.",
	"The frequency of a diagnosis among comparable women is only a rough indication of how likely it is for her, especially when the group is small.",
	// Administrative remarks.
	"The discharge letter goes to her family doctor as well.",
	"Her notes will be coded for audit later.",
	"A copy of the advice stays in the hospital record.",
	"The information here was collected for routine care.",
	"Names and dates have been removed from this summary.",
	"Please read the details carefully.",
	"Here is what we know.",
	"Some details may be missing.",
	"The summary was written quickly during the ward round.",
	"Thank you for your help.",
	"Any questions can go to the team on call.",
}

// usableContext returns the context sentences that do not contain any of
// labels (as a substring, ignoring case): a sentence holding a label's
// words would state a diagnosis the reply was not drawn for.
func usableContext(labels []string) []string {
	var out []string
	for _, s := range contextSentences {
		lower := strings.ToLower(s)
		if !slices.ContainsFunc(labels, func(l string) bool { return strings.Contains(lower, strings.ToLower(l)) }) {
			out = append(out, s)
		}
	}
	return out
}

// compose places context sentences around and between the diagnosis
// sentences segs, then adds the optional task sentences (Preamble).
func (g *generator) compose(segs []string) string {
	n := 0
	if len(g.context) > 0 && g.opt.MaxContext > 0 && g.chance(g.opt.Context) {
		n = min(1+g.rng.IntN(g.opt.MaxContext), len(g.context))
	}
	gaps := make([][]string, len(segs)+1)
	if n > 0 {
		for _, k := range g.rng.Perm(len(g.context))[:n] {
			u := g.rng.Float64()
			gap := len(segs)
			switch {
			case len(segs) > 1 && u < 0.15:
				gap = 1 + g.rng.IntN(len(segs)-1)
			case u < 0.575:
				gap = 0
			}
			gaps[gap] = append(gaps[gap], g.context[k])
		}
	}
	var parts []string
	for i, s := range segs {
		parts = append(parts, gaps[i]...)
		parts = append(parts, s)
	}
	parts = append(parts, gaps[len(segs)]...)
	return g.frame(strings.Join(parts, " "))
}
