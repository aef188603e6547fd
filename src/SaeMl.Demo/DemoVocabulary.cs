namespace SaeMl.Demo;

/// <summary>
/// The words of the demo world: hand-picked real-word concepts that keep examples readable, common
/// filler words, and pronounceable generated words for the remaining concepts and fillers.
/// </summary>
internal static class DemoVocabulary
{
    /// <summary>Readable concepts: a name and eight words, all distinct, lower case, one WordPiece token each.</summary>
    public static readonly (string Name, string[] Words)[] HandPickedConcepts =
    [
        ("weather", ["rain", "humidity", "forecast", "thunder", "drizzle", "storm", "cloudy", "temperature"]),
        ("cooking", ["recipe", "oven", "simmer", "garlic", "saucepan", "roast", "flour", "seasoning"]),
        ("music", ["melody", "guitar", "chord", "rhythm", "orchestra", "violin", "tempo", "song"]),
        ("football", ["goal", "striker", "referee", "penalty", "midfield", "stadium", "league", "kickoff"]),
        ("astronomy", ["telescope", "galaxy", "orbit", "comet", "nebula", "planet", "asteroid", "eclipse"]),
        ("medicine", ["diagnosis", "symptom", "vaccine", "patient", "therapy", "clinic", "dosage", "infection"]),
        ("finance", ["stock", "dividend", "interest", "portfolio", "inflation", "bond", "investor", "budget"]),
        ("ocean", ["tide", "coral", "reef", "whale", "current", "seabed", "salinity", "shore"]),
        ("computers", ["processor", "memory", "compiler", "software", "keyboard", "server", "algorithm", "database"]),
        ("gardening", ["compost", "seedling", "pruning", "mulch", "soil", "tulip", "weeding", "greenhouse"]),
        ("law", ["court", "verdict", "lawyer", "statute", "contract", "appeal", "judge", "evidence"]),
        ("travel", ["passport", "luggage", "airport", "itinerary", "hotel", "visa", "tourist", "journey"]),
        ("painting", ["canvas", "brush", "easel", "portrait", "pigment", "watercolor", "gallery", "sketch"]),
        ("history", ["empire", "dynasty", "archive", "revolution", "medieval", "treaty", "monarch", "ancient"]),
        ("chemistry", ["molecule", "reaction", "catalyst", "acid", "solvent", "isotope", "compound", "electron"]),
        ("birds", ["sparrow", "feather", "nest", "migration", "beak", "hawk", "owl", "plumage"]),
        ("cars", ["engine", "gearbox", "brake", "tyre", "exhaust", "mileage", "sedan", "clutch"]),
        ("farming", ["harvest", "tractor", "wheat", "barn", "livestock", "irrigation", "plough", "cattle"]),
        ("fashion", ["fabric", "runway", "tailor", "denim", "collar", "designer", "silk", "wardrobe"]),
        ("geology", ["volcano", "fossil", "sediment", "granite", "tectonic", "erosion", "mineral", "magma"]),
        ("mathematics", ["theorem", "equation", "integral", "matrix", "proof", "polynomial", "vector", "lemma"]),
        ("film", ["director", "screenplay", "premiere", "actor", "sequel", "camera", "studio", "trailer"]),
        ("architecture", ["facade", "column", "arch", "blueprint", "dome", "skyscraper", "beam", "masonry"]),
        ("insects", ["beetle", "ant", "larva", "wasp", "butterfly", "antenna", "colony", "hive"]),
        ("coffee", ["espresso", "roaster", "caffeine", "latte", "barista", "grinder", "arabica", "crema"]),
        ("mountains", ["summit", "glacier", "ridge", "avalanche", "altitude", "climber", "valley", "peak"]),
        ("railways", ["locomotive", "platform", "carriage", "timetable", "junction", "signal", "freight", "rail"]),
        ("poetry", ["verse", "stanza", "rhyme", "sonnet", "poet", "metaphor", "lyric", "meter"]),
        ("dentistry", ["tooth", "enamel", "cavity", "filling", "molar", "gum", "dentist", "plaque"]),
        ("energy", ["solar", "turbine", "battery", "voltage", "grid", "reactor", "fuel", "emission"]),
    ];

    /// <summary>Common words that carry no concept.</summary>
    public static readonly string[] CommonFillers =
    [
        "the", "of", "and", "to", "in", "is", "was", "for", "on", "with", "as", "by", "at", "from", "this", "that", "it", "an",
        "be", "are", "or", "which", "one", "all", "were", "when", "there", "can", "more", "also", "has", "had", "other", "some",
        "these", "many", "may", "then", "first", "most", "over", "such", "after", "about", "into", "than", "their", "its",
        "new", "used", "two", "time", "between", "each", "known", "often", "well", "part", "both", "during", "how", "where",
        "while", "several", "them", "only", "could", "what", "would", "very", "long", "much", "way", "make", "like", "even",
    ];

    private static readonly string[] Onsets = ["b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br", "dr", "gl", "kr", "pl", "st", "tr"];
    private static readonly string[] Vowels = ["a", "e", "i", "o", "u", "ai", "ou"];
    private static readonly string[] Codas = ["", "", "", "n", "r", "l", "s", "k"];

    /// <summary>
    /// Distinct pronounceable words of 2 or 3 syllables that are none of <paramref name="taken"/>;
    /// deterministic for a given <paramref name="random"/> state.
    /// </summary>
    public static List<string> PronounceableWords(Random random, int count, ISet<string> taken)
    {
        var words = new List<string>(count);
        while (words.Count < count)
        {
            var syllables = random.Next(2, 4);
            var word = string.Concat(Enumerable.Range(0, syllables).Select(_ =>
                Onsets[random.Next(Onsets.Length)] + Vowels[random.Next(Vowels.Length)] + Codas[random.Next(Codas.Length)]));
            if (word.Length <= 12 && taken.Add(word))
                words.Add(word);
        }

        return words;
    }
}
