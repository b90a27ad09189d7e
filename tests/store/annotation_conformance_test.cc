// The AnnotationStore conformance suite (see annotation_conformance.h), instantiated here
// for the SQLite stores. Written against the Store and AnnotationStore interfaces only.
#include "store/annotation_conformance.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "store/sqlite_annotation_store.h"
#include "store/sqlite_store.h"

namespace infera::store_testing {
namespace {

using absl::StatusCode;

std::string Sha(int n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s(64, '0');
  for (int i = 63; n > 0; --i, n /= 16) s[i] = kDigits[n % 16];
  return s;
}

MaskRevisionRecord Mask(int64_t file_id, const std::string& sha, const std::string& origin,
                        int64_t author = 3) {
  MaskRevisionRecord m;
  m.source_file_id = file_id;
  m.sha256 = sha;
  m.size = 40;
  m.width = 8;
  m.height = 6;
  m.bit_depth = 16;
  m.author_id = author;
  m.origin = origin;
  return m;
}

}  // namespace

void AnnotationConformanceTest::SetUp() {
  ASSERT_OK_AND_ASSIGN(AnnotationStores stores,
                       GetParam().open(dir_.path(), [this] { return now_ms_.load(); }));
  store_ = std::move(stores.records);
  annotations_ = std::move(stores.annotations);
}

namespace {

// A dataset with two source images (and a job output file, which is no image of it).
struct Fixture {
  DatasetRecord dataset;
  FileRecord a, b;
  FileRecord output;
};

Fixture MakeDataset(Store& store, const std::string& name, int base) {
  Fixture f;
  DatasetRecord d;
  d.name = name;
  d.owner_id = 3;
  auto created = store.CreateDataset(d);
  EXPECT_TRUE(created.ok()) << created.status();
  if (!created.ok()) return f;
  f.dataset = *created;
  for (FileRecord* out : {&f.a, &f.b}) {
    FileRecord file;
    file.dataset_id = f.dataset.id;
    file.filename = out == &f.a ? "a.png" : "b.png";
    file.sha256 = Sha(base + (out == &f.a ? 1 : 2));
    file.size = 10;
    auto added = store.AddFile(file);
    EXPECT_TRUE(added.ok()) << added.status();
    if (added.ok()) *out = *added;
  }
  JobRecord job;
  job.kind = "inference";
  job.dataset_id = f.dataset.id;
  auto made = store.CreateJob(job);
  EXPECT_TRUE(made.ok()) << made.status();
  if (!made.ok()) return f;
  FileRecord output;
  output.role = "class_mask";
  output.job_id = made->id;
  output.filename = "mask.png";
  output.sha256 = Sha(base + 3);
  output.size = 5;
  auto out = store.AddFile(output);
  EXPECT_TRUE(out.ok()) << out.status();
  if (out.ok()) f.output = *out;
  return f;
}

AnnotationSetRecord SetFor(int64_t dataset_id, const std::string& name,
                           AnnotationKind kind = AnnotationKind::kSemantic) {
  AnnotationSetRecord s;
  s.dataset_id = dataset_id;
  s.owner_id = 3;
  s.name = name;
  s.kind = kind;
  s.labels_json = R"([{"id":1,"name":"cell","colour":"#ff0000"}])";
  return s;
}

ImageLabelRecord Label(int64_t file_id, int label_id, const std::string& origin,
                       int64_t author = 3) {
  ImageLabelRecord l;
  l.source_file_id = file_id;
  l.label_id = label_id;
  l.origin = origin;
  l.author_id = author;
  return l;
}

}  // namespace

TEST_P(AnnotationConformanceTest, CreateGetAndListSets) {
  Fixture f = MakeDataset(*store_, "cells", 100);
  AnnotationSetRecord in = SetFor(f.dataset.id, "ground truth", AnnotationKind::kInstances);
  in.mask_count = 7;  // computed by the store
  ASSERT_OK_AND_ASSIGN(AnnotationSetRecord created, annotations_->CreateAnnotationSet(in, {}));
  EXPECT_GT(created.id, 0);
  EXPECT_EQ(created.dataset_id, f.dataset.id);
  EXPECT_EQ(created.owner_id, 3);
  EXPECT_EQ(created.name, "ground truth");
  EXPECT_EQ(created.kind, AnnotationKind::kInstances);
  EXPECT_EQ(created.labels_json, in.labels_json);
  EXPECT_EQ(created.created_at, Now());
  EXPECT_EQ(created.mask_count, 0);

  Advance(10);
  ASSERT_OK_AND_ASSIGN(AnnotationSetRecord second,
                       annotations_->CreateAnnotationSet(SetFor(f.dataset.id, "round 2"), {}));
  ASSERT_OK_AND_ASSIGN(AnnotationSetRecord got, annotations_->GetAnnotationSet(created.id));
  EXPECT_EQ(got.name, "ground truth");
  EXPECT_EQ(got.kind, AnnotationKind::kInstances);

  ASSERT_OK_AND_ASSIGN(auto list, annotations_->ListAnnotationSets(f.dataset.id));
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].id, created.id);  // oldest first
  EXPECT_EQ(list[1].id, second.id);

  Fixture other = MakeDataset(*store_, "other", 200);
  ASSERT_OK_AND_ASSIGN(list, annotations_->ListAnnotationSets(other.dataset.id));
  EXPECT_TRUE(list.empty());
}

TEST_P(AnnotationConformanceTest, CreateRefusesBadSets) {
  Fixture f = MakeDataset(*store_, "cells", 100);
  EXPECT_EQ(StatusOf(annotations_->CreateAnnotationSet(SetFor(f.dataset.id, ""), {})).code(),
            StatusCode::kInvalidArgument);
  AnnotationSetRecord bad_labels = SetFor(f.dataset.id, "x");
  bad_labels.labels_json = R"({"id":1})";
  EXPECT_EQ(StatusOf(annotations_->CreateAnnotationSet(bad_labels, {})).code(),
            StatusCode::kInvalidArgument);
  bad_labels.labels_json = "[not json";
  EXPECT_EQ(StatusOf(annotations_->CreateAnnotationSet(bad_labels, {})).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(StatusOf(annotations_->CreateAnnotationSet(SetFor(987654, "x"), {})).code(),
            StatusCode::kNotFound);
  ASSERT_OK(annotations_->CreateAnnotationSet(SetFor(f.dataset.id, "gt"), {}).status());
  EXPECT_EQ(StatusOf(annotations_->CreateAnnotationSet(SetFor(f.dataset.id, "gt"), {})).code(),
            StatusCode::kAlreadyExists);
  // The same name in another dataset is fine.
  Fixture other = MakeDataset(*store_, "other", 200);
  ASSERT_OK(annotations_->CreateAnnotationSet(SetFor(other.dataset.id, "gt"), {}).status());
}

TEST_P(AnnotationConformanceTest, UnknownSetsAreNotFound) {
  Fixture f = MakeDataset(*store_, "cells", 100);
  EXPECT_EQ(StatusOf(annotations_->GetAnnotationSet(424242)).code(), StatusCode::kNotFound);
  EXPECT_EQ(StatusOf(annotations_->DeleteAnnotationSet(424242)).code(), StatusCode::kNotFound);
  EXPECT_EQ(StatusOf(annotations_->AddMaskRevisions(424242, {Mask(f.a.id, Sha(1), "edit")})).code(),
            StatusCode::kNotFound);
  EXPECT_EQ(StatusOf(annotations_->GetCurrentMask(424242, f.a.id)).code(), StatusCode::kNotFound);
  EXPECT_EQ(StatusOf(annotations_->ListMaskRevisions(424242, f.a.id)).code(),
            StatusCode::kNotFound);
  EXPECT_EQ(StatusOf(annotations_->ListCurrentMasks(424242)).code(), StatusCode::kNotFound);
  EXPECT_EQ(StatusOf(annotations_->ListAnnotationSets(424242)).code(), StatusCode::kNotFound);
  Status missing = annotations_->GetAnnotationSet(424242).status();
  EXPECT_NE(std::string(missing.message()).find("annotation set 424242"), std::string::npos)
      << missing;
}

TEST_P(AnnotationConformanceTest, RevisionsAreNumberedPerImageAndTheLastIsCurrent) {
  Fixture f = MakeDataset(*store_, "cells", 100);
  ASSERT_OK_AND_ASSIGN(AnnotationSetRecord set,
                       annotations_->CreateAnnotationSet(SetFor(f.dataset.id, "gt"),
                                                         {Mask(f.a.id, Sha(1), "job:12", 0)}));
  EXPECT_EQ(set.mask_count, 1);
  ASSERT_OK_AND_ASSIGN(MaskRevisionRecord first, annotations_->GetCurrentMask(set.id, f.a.id));
  EXPECT_EQ(first.revision, 1);
  EXPECT_EQ(first.origin, "job:12");
  EXPECT_EQ(first.set_id, set.id);
  EXPECT_EQ(first.sha256, Sha(1));
  EXPECT_EQ(first.width, 8);
  EXPECT_EQ(first.height, 6);
  EXPECT_EQ(first.bit_depth, 16);
  EXPECT_EQ(first.size, 40);
  EXPECT_EQ(first.created_at, Now());

  Advance(5);
  MaskRevisionRecord classed = Mask(f.b.id, Sha(3), "import");
  classed.classes_json = R"({"1":2,"2":1})";
  ASSERT_OK_AND_ASSIGN(auto written, annotations_->AddMaskRevisions(
                                         set.id, {Mask(f.a.id, Sha(2), "edit", 9), classed}));
  ASSERT_EQ(written.size(), 2u);
  EXPECT_EQ(written[0].revision, 2);
  EXPECT_EQ(written[0].author_id, 9);
  EXPECT_EQ(written[1].revision, 1);
  EXPECT_GT(written[0].id, 0);

  ASSERT_OK_AND_ASSIGN(MaskRevisionRecord current, annotations_->GetCurrentMask(set.id, f.a.id));
  EXPECT_EQ(current.revision, 2);
  EXPECT_EQ(current.sha256, Sha(2));
  EXPECT_EQ(current.origin, "edit");
  EXPECT_EQ(current.created_at, Now());

  ASSERT_OK_AND_ASSIGN(auto history, annotations_->ListMaskRevisions(set.id, f.a.id));
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0].revision, 1);
  EXPECT_EQ(history[0].sha256, Sha(1));
  EXPECT_EQ(history[1].revision, 2);

  ASSERT_OK_AND_ASSIGN(auto currents, annotations_->ListCurrentMasks(set.id));
  ASSERT_EQ(currents.size(), 2u);
  EXPECT_EQ(currents[0].source_file_id, f.a.id);
  EXPECT_EQ(currents[0].revision, 2);
  EXPECT_EQ(currents[1].source_file_id, f.b.id);
  EXPECT_EQ(currents[1].classes_json, R"({"1":2,"2":1})");
  EXPECT_EQ(currents[0].classes_json, "{}");
  ASSERT_OK_AND_ASSIGN(set, annotations_->GetAnnotationSet(set.id));
  EXPECT_EQ(set.mask_count, 2);

  // Another set of the same dataset numbers its own revisions.
  ASSERT_OK_AND_ASSIGN(AnnotationSetRecord other,
                       annotations_->CreateAnnotationSet(SetFor(f.dataset.id, "other"), {}));
  ASSERT_OK_AND_ASSIGN(written,
                       annotations_->AddMaskRevisions(other.id, {Mask(f.a.id, Sha(4), "edit")}));
  EXPECT_EQ(written[0].revision, 1);
  EXPECT_EQ(StatusOf(annotations_->GetCurrentMask(other.id, f.b.id)).code(), StatusCode::kNotFound);
  ASSERT_OK_AND_ASSIGN(history, annotations_->ListMaskRevisions(other.id, f.b.id));
  EXPECT_TRUE(history.empty());
}

TEST_P(AnnotationConformanceTest, BadMasksWriteNothing) {
  Fixture f = MakeDataset(*store_, "cells", 100);
  Fixture other = MakeDataset(*store_, "other", 200);
  ASSERT_OK_AND_ASSIGN(AnnotationSetRecord set,
                       annotations_->CreateAnnotationSet(SetFor(f.dataset.id, "gt"), {}));
  auto refused = [&](MaskRevisionRecord bad) {
    // A good mask first: all or none.
    return StatusOf(annotations_->AddMaskRevisions(set.id, {Mask(f.a.id, Sha(1), "edit"), bad}))
        .code();
  };
  EXPECT_EQ(refused(Mask(other.a.id, Sha(2), "edit")), StatusCode::kInvalidArgument);
  EXPECT_EQ(refused(Mask(f.output.id, Sha(2), "edit")), StatusCode::kInvalidArgument);
  MaskRevisionRecord m = Mask(f.b.id, "ABC", "edit");
  EXPECT_EQ(refused(m), StatusCode::kInvalidArgument);
  m = Mask(f.b.id, Sha(2), "edit");
  m.bit_depth = 32;
  EXPECT_EQ(refused(m), StatusCode::kInvalidArgument);
  m = Mask(f.b.id, Sha(2), "edit");
  m.width = 0;
  EXPECT_EQ(refused(m), StatusCode::kInvalidArgument);
  for (const char* origin : {"", "job:", "job:0", "job:1x", "guess", "job:-3"}) {
    EXPECT_EQ(refused(Mask(f.b.id, Sha(2), origin)), StatusCode::kInvalidArgument) << origin;
  }
  m = Mask(f.b.id, Sha(2), "edit");
  m.classes_json = "[1,2]";
  EXPECT_EQ(refused(m), StatusCode::kInvalidArgument);
  EXPECT_EQ(refused(Mask(f.a.id, Sha(2), "edit")), StatusCode::kInvalidArgument);  // twice
  ASSERT_OK_AND_ASSIGN(auto currents, annotations_->ListCurrentMasks(set.id));
  EXPECT_TRUE(currents.empty());

  // A set created with a bad mask is not created.
  EXPECT_EQ(StatusOf(annotations_->CreateAnnotationSet(
                         SetFor(f.dataset.id, "new"),
                         {Mask(f.a.id, Sha(1), "import"), Mask(other.b.id, Sha(2), "import")}))
                .code(),
            StatusCode::kInvalidArgument);
  ASSERT_OK_AND_ASSIGN(auto sets, annotations_->ListAnnotationSets(f.dataset.id));
  EXPECT_EQ(sets.size(), 1u);
}

TEST_P(AnnotationConformanceTest, RevisionBlobsAreReferencedUntilTheirSetGoes) {
  Fixture f = MakeDataset(*store_, "cells", 100);
  ASSERT_OK_AND_ASSIGN(AnnotationSetRecord set,
                       annotations_->CreateAnnotationSet(SetFor(f.dataset.id, "gt"),
                                                         {Mask(f.a.id, Sha(1), "import"),
                                                          // the bytes of a source file, too
                                                          Mask(f.b.id, f.b.sha256, "import")}));
  ASSERT_OK(annotations_->AddMaskRevisions(set.id, {Mask(f.a.id, Sha(2), "edit")}).status());
  ASSERT_OK_AND_ASSIGN(bool referenced, store_->BlobReferenced(Sha(1)));
  EXPECT_TRUE(referenced);
  std::vector<std::string> deleted;
  auto remove = [&](const std::string& sha) {
    deleted.push_back(sha);
    return absl::OkStatus();
  };
  ASSERT_OK_AND_ASSIGN(auto removed, store_->SweepBlobs(std::nullopt, remove));
  EXPECT_TRUE(removed.empty()) << removed[0];

  ASSERT_OK_AND_ASSIGN(std::vector<std::string> unreferenced,
                       annotations_->DeleteAnnotationSet(set.id));
  std::sort(unreferenced.begin(), unreferenced.end());
  EXPECT_EQ(unreferenced, (std::vector<std::string>{Sha(1), Sha(2)}));  // not the source's
  EXPECT_EQ(StatusOf(annotations_->GetAnnotationSet(set.id)).code(), StatusCode::kNotFound);
  ASSERT_OK_AND_ASSIGN(removed, store_->SweepBlobs(unreferenced, remove));
  std::sort(removed.begin(), removed.end());
  EXPECT_EQ(removed, (std::vector<std::string>{Sha(1), Sha(2)}));
  ASSERT_OK_AND_ASSIGN(referenced, store_->BlobReferenced(f.b.sha256));
  EXPECT_TRUE(referenced);
}

TEST_P(AnnotationConformanceTest, DeletingTheDatasetDeletesItsSetsAndReturnsTheirBlobs) {
  Fixture f = MakeDataset(*store_, "cells", 100);
  Fixture other = MakeDataset(*store_, "other", 200);
  ASSERT_OK_AND_ASSIGN(AnnotationSetRecord set,
                       annotations_->CreateAnnotationSet(SetFor(f.dataset.id, "gt"),
                                                         {Mask(f.a.id, Sha(1), "import")}));
  // The same mask bytes in another dataset's set stay referenced.
  ASSERT_OK_AND_ASSIGN(AnnotationSetRecord kept,
                       annotations_->CreateAnnotationSet(
                           SetFor(other.dataset.id, "gt"),
                           {Mask(other.a.id, Sha(1), "import"), Mask(other.b.id, Sha(5), "edit")}));
  ASSERT_OK(annotations_->AddMaskRevisions(set.id, {Mask(f.b.id, Sha(6), "edit")}).status());
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> unreferenced, store_->DeleteDataset(f.dataset.id));
  EXPECT_NE(std::find(unreferenced.begin(), unreferenced.end(), Sha(6)), unreferenced.end());
  EXPECT_EQ(std::find(unreferenced.begin(), unreferenced.end(), Sha(1)), unreferenced.end());
  EXPECT_EQ(StatusOf(annotations_->GetAnnotationSet(set.id)).code(), StatusCode::kNotFound);
  ASSERT_OK_AND_ASSIGN(auto currents, annotations_->ListCurrentMasks(kept.id));
  EXPECT_EQ(currents.size(), 2u);
}

TEST_P(AnnotationConformanceTest, ImageLabelsAreRevisionsPerImageAndTheLastIsCurrent) {
  Fixture f = MakeDataset(*store_, "shapes", 100);
  ASSERT_OK_AND_ASSIGN(AnnotationSetRecord set,
                       annotations_->CreateAnnotationSet(
                           SetFor(f.dataset.id, "labels", AnnotationKind::kImageLabels), {},
                           {Label(f.a.id, 1, "job:4", 0)}));
  EXPECT_EQ(set.kind, AnnotationKind::kImageLabels);
  EXPECT_EQ(set.mask_count, 1);  // images labelled
  ASSERT_OK_AND_ASSIGN(set, annotations_->GetAnnotationSet(set.id));
  EXPECT_EQ(set.kind, AnnotationKind::kImageLabels);

  Advance(5);
  ASSERT_OK_AND_ASSIGN(auto written,
                       annotations_->AddImageLabels(
                           set.id, {Label(f.a.id, 2, "edit", 9), Label(f.b.id, 1, "import")}));
  ASSERT_EQ(written.size(), 2u);
  EXPECT_EQ(written[0].revision, 2);
  EXPECT_EQ(written[0].label_id, 2);
  EXPECT_EQ(written[0].author_id, 9);
  EXPECT_EQ(written[0].set_id, set.id);
  EXPECT_EQ(written[0].created_at, Now());
  EXPECT_GT(written[0].id, 0);
  EXPECT_EQ(written[1].revision, 1);

  ASSERT_OK_AND_ASSIGN(auto history, annotations_->ListImageLabelRevisions(set.id, f.a.id));
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0].revision, 1);
  EXPECT_EQ(history[0].label_id, 1);
  EXPECT_EQ(history[0].origin, "job:4");
  EXPECT_EQ(history[0].created_at, kStartMs);
  EXPECT_EQ(history[1].revision, 2);
  EXPECT_EQ(history[1].origin, "edit");

  ASSERT_OK_AND_ASSIGN(auto current, annotations_->ListCurrentImageLabels(set.id));
  ASSERT_EQ(current.size(), 2u);
  EXPECT_EQ(current[0].source_file_id, f.a.id);
  EXPECT_EQ(current[0].label_id, 2);
  EXPECT_EQ(current[1].source_file_id, f.b.id);
  ASSERT_OK_AND_ASSIGN(set, annotations_->GetAnnotationSet(set.id));
  EXPECT_EQ(set.mask_count, 2);

  // Clearing (label 0) is a revision too; a cleared image has no current label.
  ASSERT_OK_AND_ASSIGN(written, annotations_->AddImageLabels(set.id, {Label(f.a.id, 0, "edit")}));
  EXPECT_EQ(written[0].revision, 3);
  ASSERT_OK_AND_ASSIGN(current, annotations_->ListCurrentImageLabels(set.id));
  ASSERT_EQ(current.size(), 1u);
  EXPECT_EQ(current[0].source_file_id, f.b.id);
  ASSERT_OK_AND_ASSIGN(history, annotations_->ListImageLabelRevisions(set.id, f.a.id));
  EXPECT_EQ(history.size(), 3u);
  ASSERT_OK_AND_ASSIGN(auto sets, annotations_->ListAnnotationSets(f.dataset.id));
  ASSERT_EQ(sets.size(), 1u);
  EXPECT_EQ(sets[0].mask_count, 1);
  EXPECT_EQ(sets[0].kind, AnnotationKind::kImageLabels);
  ASSERT_OK_AND_ASSIGN(history, annotations_->ListImageLabelRevisions(set.id, f.output.id));
  EXPECT_TRUE(history.empty());

  // Deleting the set (no blobs: nothing to sweep) or the dataset takes the labels along.
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> unreferenced,
                       annotations_->DeleteAnnotationSet(set.id));
  EXPECT_TRUE(unreferenced.empty());
  EXPECT_EQ(StatusOf(annotations_->ListCurrentImageLabels(set.id)).code(), StatusCode::kNotFound);
  ASSERT_OK_AND_ASSIGN(AnnotationSetRecord again,
                       annotations_->CreateAnnotationSet(
                           SetFor(f.dataset.id, "labels", AnnotationKind::kImageLabels), {},
                           {Label(f.a.id, 1, "import")}));
  ASSERT_OK(store_->DeleteDataset(f.dataset.id).status());
  EXPECT_EQ(StatusOf(annotations_->GetAnnotationSet(again.id)).code(), StatusCode::kNotFound);
}

TEST_P(AnnotationConformanceTest, LabelsGoOnlyToLabelSetsAndMasksOnlyToMaskSets) {
  Fixture f = MakeDataset(*store_, "shapes", 100);
  Fixture other = MakeDataset(*store_, "other", 200);
  ASSERT_OK_AND_ASSIGN(AnnotationSetRecord labels,
                       annotations_->CreateAnnotationSet(
                           SetFor(f.dataset.id, "labels", AnnotationKind::kImageLabels), {}));
  ASSERT_OK_AND_ASSIGN(AnnotationSetRecord masks,
                       annotations_->CreateAnnotationSet(SetFor(f.dataset.id, "masks"), {}));
  Status s = annotations_->AddMaskRevisions(labels.id, {Mask(f.a.id, Sha(1), "edit")}).status();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s;
  EXPECT_NE(std::string(s.message()).find("image_labels"), std::string::npos) << s;
  s = annotations_->AddImageLabels(masks.id, {Label(f.a.id, 1, "edit")}).status();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s;
  EXPECT_EQ(StatusOf(annotations_->CreateAnnotationSet(
                         SetFor(f.dataset.id, "x", AnnotationKind::kImageLabels),
                         {Mask(f.a.id, Sha(1), "import")}))
                .code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(StatusOf(annotations_->CreateAnnotationSet(SetFor(f.dataset.id, "y"), {},
                                                       {Label(f.a.id, 1, "import")}))
                .code(),
            StatusCode::kInvalidArgument);
  ASSERT_OK_AND_ASSIGN(auto currents, annotations_->ListCurrentImageLabels(masks.id));
  EXPECT_TRUE(currents.empty());

  // Bad labels write nothing (a good one first: all or none).
  auto refused = [&](ImageLabelRecord bad) {
    return StatusOf(annotations_->AddImageLabels(labels.id, {Label(f.a.id, 1, "edit"), bad}))
        .code();
  };
  EXPECT_EQ(refused(Label(other.a.id, 1, "edit")), StatusCode::kInvalidArgument);
  EXPECT_EQ(refused(Label(f.output.id, 1, "edit")), StatusCode::kInvalidArgument);
  EXPECT_EQ(refused(Label(f.b.id, -1, "edit")), StatusCode::kInvalidArgument);
  EXPECT_EQ(refused(Label(f.b.id, 70000, "edit")), StatusCode::kInvalidArgument);
  EXPECT_EQ(refused(Label(f.b.id, 1, "guess")), StatusCode::kInvalidArgument);
  EXPECT_EQ(refused(Label(f.a.id, 2, "edit")), StatusCode::kInvalidArgument);  // twice
  EXPECT_EQ(StatusOf(annotations_->AddImageLabels(labels.id, {Label(987654, 1, "edit")})).code(),
            StatusCode::kNotFound);
  ASSERT_OK_AND_ASSIGN(currents, annotations_->ListCurrentImageLabels(labels.id));
  EXPECT_TRUE(currents.empty());
  EXPECT_EQ(StatusOf(annotations_->AddImageLabels(424242, {Label(f.a.id, 1, "edit")})).code(),
            StatusCode::kNotFound);
  EXPECT_EQ(StatusOf(annotations_->ListImageLabelRevisions(424242, f.a.id)).code(),
            StatusCode::kNotFound);
}

// Writers racing on one set (several threads, as several nodes' requests): every
// revision is recorded once, each image's numbers are unique and gapless (1..N), each
// writer sees its own revisions numbered in the order it wrote them, and the current mask
// is the last one committed (the highest number).
TEST_P(AnnotationConformanceTest, ConcurrentWritersNumberRevisionsOnceAndGapless) {
  Fixture f = MakeDataset(*store_, "cells", 100);
  ASSERT_OK_AND_ASSIGN(AnnotationSetRecord set,
                       annotations_->CreateAnnotationSet(SetFor(f.dataset.id, "gt"), {}));
  constexpr int kThreads = 8;
  constexpr int kWrites = 12;
  // Thread t writes image a (t even) or b (t odd), or both in one call every third write.
  std::vector<std::vector<MaskRevisionRecord>> written(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kWrites; ++i) {
        const int64_t image = t % 2 == 0 ? f.a.id : f.b.id;
        std::vector<MaskRevisionRecord> masks = {Mask(image, Sha(1000 + t * 100 + i), "edit", t)};
        if (i % 3 == 2) {
          masks.push_back(
              Mask(image == f.a.id ? f.b.id : f.a.id, Sha(5000 + t * 100 + i), "edit", t));
        }
        StatusOr<std::vector<MaskRevisionRecord>> r = annotations_->AddMaskRevisions(set.id, masks);
        EXPECT_TRUE(r.ok()) << r.status();
        if (!r.ok()) return;
        EXPECT_EQ(r->size(), masks.size());
        for (MaskRevisionRecord& m : *r) written[t].push_back(std::move(m));
      }
    });
  }
  for (std::thread& t : threads) t.join();

  for (const FileRecord* image : {&f.a, &f.b}) {
    // What the writers were told, for this image: sha256 -> revision.
    std::map<std::string, int> told;
    for (int t = 0; t < kThreads; ++t) {
      int last = 0;
      for (const MaskRevisionRecord& m : written[t]) {
        if (m.source_file_id != image->id) continue;
        EXPECT_TRUE(told.emplace(m.sha256, m.revision).second) << m.sha256;
        EXPECT_GT(m.revision, last) << "thread " << t << " saw its revisions out of order";
        last = m.revision;
      }
    }
    ASSERT_OK_AND_ASSIGN(std::vector<MaskRevisionRecord> history,
                         annotations_->ListMaskRevisions(set.id, image->id));
    ASSERT_EQ(history.size(), told.size());
    for (size_t i = 0; i < history.size(); ++i) {
      EXPECT_EQ(history[i].revision, static_cast<int>(i) + 1);  // unique and gapless
      auto it = told.find(history[i].sha256);
      ASSERT_NE(it, told.end()) << history[i].sha256;
      EXPECT_EQ(it->second, history[i].revision);
    }
    ASSERT_OK_AND_ASSIGN(MaskRevisionRecord current,
                         annotations_->GetCurrentMask(set.id, image->id));
    EXPECT_EQ(current.revision, static_cast<int>(history.size()));
    EXPECT_EQ(current.sha256, history.back().sha256);
  }
  ASSERT_OK_AND_ASSIGN(auto currents, annotations_->ListCurrentMasks(set.id));
  EXPECT_EQ(currents.size(), 2u);
}

// A set deleted while writers add revisions to it: each write either committed before
// the delete (and its blob is among those the delete returns) or is NotFound after it;
// afterwards nothing references any of the writers' blobs, and a sweep removes exactly
// the ones that were committed — no revision row and no blob is left behind.
TEST_P(AnnotationConformanceTest, ASetDeletedWhileRevisionsAreWrittenLeavesNoOrphans) {
  Fixture f = MakeDataset(*store_, "cells", 100);
  ASSERT_OK_AND_ASSIGN(AnnotationSetRecord set,
                       annotations_->CreateAnnotationSet(SetFor(f.dataset.id, "gt"),
                                                         {Mask(f.a.id, Sha(1), "import")}));
  constexpr int kThreads = 6;
  constexpr int kMaxWrites = 400;
  std::atomic<int> committed_count{0};
  std::vector<std::vector<std::string>> committed(kThreads), attempted(kThreads);
  std::vector<std::thread> threads;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kMaxWrites && std::chrono::steady_clock::now() < deadline; ++i) {
        const std::string sha = Sha(10000 + t * 1000 + i);
        attempted[t].push_back(sha);
        StatusOr<std::vector<MaskRevisionRecord>> r = annotations_->AddMaskRevisions(
            set.id, {Mask(i % 2 == 0 ? f.a.id : f.b.id, sha, "edit", t)});
        if (absl::IsNotFound(r.status())) return;  // the set is gone
        EXPECT_TRUE(r.ok()) << r.status();
        if (!r.ok()) return;
        committed[t].push_back(sha);
        ++committed_count;
      }
    });
  }
  // Delete once the writers are well under way (bounded wait).
  while (committed_count.load() < 30 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  StatusOr<std::vector<std::string>> unreferenced = annotations_->DeleteAnnotationSet(set.id);
  for (std::thread& t : threads) t.join();
  ASSERT_OK(unreferenced.status());
  EXPECT_EQ(StatusOf(annotations_->GetAnnotationSet(set.id)).code(), StatusCode::kNotFound);
  EXPECT_EQ(StatusOf(annotations_->ListMaskRevisions(set.id, f.a.id)).code(),
            StatusCode::kNotFound);

  std::set<std::string> expected = {Sha(1)};
  std::vector<std::string> all = {Sha(1)};
  for (int t = 0; t < kThreads; ++t) {
    expected.insert(committed[t].begin(), committed[t].end());
    all.insert(all.end(), attempted[t].begin(), attempted[t].end());
  }
  EXPECT_GE(expected.size(), 30u);
  EXPECT_LT(expected.size(), static_cast<size_t>(kThreads * kMaxWrites) + 1)
      << "the delete came after every write";
  // The delete returned every committed blob (nothing else references them).
  EXPECT_EQ(std::set<std::string>(unreferenced->begin(), unreferenced->end()), expected);
  for (const std::string& sha : all) {
    ASSERT_OK_AND_ASSIGN(bool referenced, store_->BlobReferenced(sha));
    EXPECT_FALSE(referenced) << sha;
  }
  std::vector<std::string> deleted;
  ASSERT_OK_AND_ASSIGN(auto removed, store_->SweepBlobs(all, [&](const std::string& sha) {
    deleted.push_back(sha);
    return absl::OkStatus();
  }));
  EXPECT_EQ(std::set<std::string>(removed.begin(), removed.end()), expected);
  EXPECT_EQ(std::set<std::string>(deleted.begin(), deleted.end()), expected);
  // The dataset's own blobs stay.
  ASSERT_OK_AND_ASSIGN(bool source_kept, store_->BlobReferenced(f.a.sha256));
  EXPECT_TRUE(source_kept);
}

TEST(AnnotationKindTest, NamesRoundTrip) {
  for (AnnotationKind k :
       {AnnotationKind::kSemantic, AnnotationKind::kInstances, AnnotationKind::kImageLabels}) {
    ASSERT_OK_AND_ASSIGN(AnnotationKind parsed, ParseAnnotationKind(AnnotationKindName(k)));
    EXPECT_EQ(parsed, k);
  }
  EXPECT_EQ(AnnotationKindName(AnnotationKind::kImageLabels), "image_labels");
  EXPECT_EQ(StatusOf(ParseAnnotationKind("panoptic")).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(IsMaskOrigin("job:7"));
  EXPECT_FALSE(IsMaskOrigin("job:07"));
}

INSTANTIATE_TEST_SUITE_P(Sqlite, AnnotationConformanceTest,
                         ::testing::Values(AnnotationStoreFactory{
                             "Sqlite",
                             [](const std::filesystem::path& dir,
                                std::function<int64_t()> now_ms) -> StatusOr<AnnotationStores> {
                               AnnotationStores stores;
                               SqliteStoreOptions options;
                               options.now_ms = now_ms;
                               ASSIGN_OR_RETURN(stores.records,
                                                OpenSqliteStore(dir / "store.db", options));
                               SqliteAnnotationStoreOptions annotation_options;
                               annotation_options.now_ms = std::move(now_ms);
                               ASSIGN_OR_RETURN(
                                   stores.annotations,
                                   OpenSqliteAnnotationStore(dir / "store.db", annotation_options));
                               return stores;
                             }}),
                         AnnotationStoreFactoryName);

}  // namespace infera::store_testing
